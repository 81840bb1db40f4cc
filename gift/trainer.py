"""`GIFTTrainer`: HF `Trainer` that checkpoints only θ (+ head) and resumes from such checkpoints.

Plain `Trainer` trains a GIFT wrapper as it is, but it saves any model that is not a `PreTrainedModel` as
its full state dict, which fails on tied embeddings and would write the whole backbone at every
checkpoint. This subclass writes `save_pretrained`'s adapter files instead (kilobytes to megabytes).
Imported on use only: `from gift.trainer import GIFTTrainer`.
"""

from __future__ import annotations

from transformers import Trainer

from .io import load_adapter
from .wrapper import GIFTWrapper


class GIFTTrainer(Trainer):
    def _gift_model(self) -> GIFTWrapper:
        model = self.accelerator.unwrap_model(self.model)
        if not isinstance(model, GIFTWrapper):
            raise TypeError(f"GIFTTrainer trains a GIFTWrapper, got {type(model).__name__}; use transformers.Trainer.")
        return model

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return
        self._gift_model().save_pretrained(output_dir)  # creates the folder
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        load_adapter(self._gift_model() if model is None else model, resume_from_checkpoint)

    def _load_best_model(self) -> None:
        load_adapter(self._gift_model(), self.state.best_model_checkpoint)
