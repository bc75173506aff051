"""What the scripts share: their command line (--device, --backend) and the process group."""

import argparse

import forgegrad.distributed as dist


def start():
    """Join the process group; (device, rank, world size)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    dist.init_process_group(args.backend)
    return args.device, dist.get_rank(), dist.get_world_size()
