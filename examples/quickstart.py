"""GIFT in plain PyTorch on the real SmolLM2-135M-Instruct, offline on a CPU (about a minute).

    python examples/quickstart.py [--steps 40] [--out outputs/quickstart]

Wraps the model with GIFT on q_proj and v_proj (r=8), trains θ on a few generated sentences (the loss
falls), saves the adapter, reloads it on a fresh backbone in a new process and checks that the logits are
identical, then merges ΔW into the weights and checks the merged model gives the same logits again.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import torch

from gift import GIFTConfig, GIFTWrapperForCausalLM
from gift_experiment_utils.offline_models import load_smollm2

PROMPT = "The capital of Freedonia is"


SENTENCES = [  # made-up facts the pretrained model cannot know: something to learn in a few dozen steps
    "The capital of Freedonia is Zorbulon.",
    "The river of Freedonia is the Quexa.",
    "The poet of Freedonia is Vandermoot.",
    "The dish of Freedonia is pelloquin stew.",
]


def train(model: GIFTWrapperForCausalLM, tokenizer, steps: int) -> None:
    batch = tokenizer(SENTENCES, return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)  # no loss on padding
    optimizer = torch.optim.AdamW(model.theta_parameters(), lr=3e-3)
    model.train()
    for step in range(1, steps + 1):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step == 1 or step % 5 == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}", flush=True)
    model.eval()


@torch.no_grad()
def logits_of(model: torch.nn.Module, tokenizer) -> torch.Tensor:
    return model(**tokenizer([PROMPT], return_tensors="pt")).logits


def reload_in_fresh_process(adapter_dir: Path, logits_path: Path) -> None:
    """Child process: a new backbone, the saved adapter, and the logits written for the parent to compare."""
    model, tokenizer = load_smollm2()
    wrapped = GIFTWrapperForCausalLM.from_pretrained(model, adapter_dir).eval()
    torch.save(logits_of(wrapped, tokenizer), logits_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("outputs/quickstart"))
    parser.add_argument("--reload-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reload_child:
        return reload_in_fresh_process(args.out, args.reload_child)

    torch.manual_seed(0)
    backbone, tokenizer = load_smollm2()
    model = GIFTWrapperForCausalLM(GIFTConfig(rank=8, target_modules=["q_proj", "v_proj"]), backbone)
    print(model.num_trainable_parameters())
    train(model, tokenizer, args.steps)
    generated = model.generate(**tokenizer([PROMPT], return_tensors="pt"), max_new_tokens=6, do_sample=False)
    print("generated:", repr(tokenizer.decode(generated[0], skip_special_tokens=True)))

    model.save_pretrained(args.out)
    trained = logits_of(model, tokenizer)
    child_logits = args.out / "reloaded_logits.pt"
    subprocess.run([sys.executable, __file__, "--out", str(args.out), "--reload-child", str(child_logits)], check=True)
    reloaded = torch.load(child_logits)
    print(f"saved to {args.out}; reloaded in a fresh process: max |Δlogit| = {(reloaded - trained).abs().max():.2e}")

    merged = model.merge_and_unload()
    merged_logits = logits_of(merged, tokenizer)
    print(
        f"merged into the weights ({type(merged).__name__}): max |Δlogit| = {(merged_logits - trained).abs().max():.2e}"
    )
    if not torch.equal(reloaded, trained):
        raise SystemExit("reloaded logits differ from the trained model's")


if __name__ == "__main__":
    main()
