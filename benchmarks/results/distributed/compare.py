"""Compares the trained weights of finetune output folders with the first: the largest absolute difference per
folder over every tensor of checkpoint/trainable.safetensors, and whether they are the same bits."""
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file


def trained(folder):
    return load_file(str(Path(folder) / "checkpoint" / "trainable.safetensors"))


def main(folders):
    if len(folders) < 2:
        sys.exit("usage: compare.py REFERENCE_RUN RUN...")
    reference = trained(folders[0])
    for other in folders[1:]:
        weights = trained(other)
        if weights.keys() != reference.keys():
            print(f"{other}: different tensors from {folders[0]}")
            continue
        largest = max(float(np.max(np.abs(weights[k].astype(np.float64) - reference[k].astype(np.float64))))
                      for k in reference)
        same = all(np.array_equal(weights[k], reference[k]) for k in reference)
        print(f"{other} vs {folders[0]}: {len(reference)} tensors, largest difference {largest:.3g}, "
              f"{'identical bits' if same else 'not identical'}")


if __name__ == "__main__":
    main(sys.argv[1:])
