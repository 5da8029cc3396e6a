"""Write ``examples/history_efficientnet_lite.json``: a transfer history for the offline zoo.

The accuracies are the `fmnist-imagenet` suite's committed ground truth (linear probe at 64 px,
20 train images per class, mean of 6 seeds, whole test split) of the three full-depth
EfficientNet-Lite networks, under the offline zoo's names. Reads the suite's committed run logs
and cached features (run ``modelrank benchmark --suite fmnist-imagenet`` first):

    python examples/make_history.py
"""

import json
from pathlib import Path

from modelrank.benchmark import ground_truth, load_suite

NAMES = {
    "lite0": "efficientnet_lite0",
    "lite1": "efficientnet_lite1",
    "lite2": "efficientnet_lite2",
}


def main() -> None:
    gt = ground_truth(load_suite("fmnist-imagenet"))
    history = {
        t: {NAMES[m]: round(a, 3) for m, a in col.items() if m in NAMES}
        for t, col in gt.accuracies.items()
    }
    out = Path(__file__).with_name("history_efficientnet_lite.json")
    out.write_text(json.dumps(history, indent=1) + "\n")
    print(f"wrote {out}: {', '.join(history)}")


if __name__ == "__main__":
    main()
