"""The README's quickstart: train an MLP on scikit-learn's handwritten digits with
forgegrad's training API, watch the validation curve, save and reload the model.

    pip install ".[datasets,plot]" && python examples/train_digits.py
"""

import forgegrad as fg
from forgegrad import nn, optim

fg.manual_seed(0)
data = fg.datasets.digits(seed=0)  # train / validation / test splits, pixels in [0, 1]
model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
optimizer = optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=30)
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

history = fg.fit(
    model,
    loss_fn,
    optimizer,
    data.train,
    data.val,
    epochs=30,
    batch_size=32,
    scheduler=scheduler,
    callbacks=[fg.EarlyStopping(patience=8)],
    seed=0,
    metrics=["accuracy", "f1"],
)  # one line per epoch; progress=False: no bar
history.plot("digits_curves.png")  # a matplotlib Figure: loss, accuracy (%) and F1 per epoch
fg.save(model.state_dict(), "digits.safetensors")
model.load_state_dict(fg.load("digits.safetensors"))
print(f"test accuracy: {fg.evaluate(model, loss_fn, data.test)['accuracy']:.1%}")
