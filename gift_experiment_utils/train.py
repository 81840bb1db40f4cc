"""The one training loop: every domain, every method, one process or many (HF accelerate).

    run(config)                      set up the run folder and accelerator, then the Trainer steps below
      Trainer.setup()                datasets, model + method, optimizer, loaders, resume from last.pt
      Trainer.fit()                  updates with accumulation, clipping, lr schedule; validation and
                                     checkpoints every N steps / epochs
      Trainer.finish()               final validation, test (last or best weights), results.json
    eval.only (`run --eval-only [--adapter DIR]`): the same datasets, model and method, the saved adapter
    loaded (none: zero-shot), then Trainer.evaluate_only() on val and test; no optimizer, no update

Accumulation is explicit: A micro-batches per update, gradients synchronised only on the last one
(`no_sync` before), each micro-batch loss divided by A. With the data layout of `data.py`, W processes
with accumulation A update exactly as one process with accumulation W·A does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DistributedDataParallelKwargs, DistributedType, gather_object, send_to_device, set_seed
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from .config import Config
from .data import Layout, eval_loader, limit, train_loader
from .methods import AdaptedModel, adapter_fingerprint, adapter_folder, apply_method, check_adapter
from .optim import build_optimizer, build_schedule
from .task import Splits, Task, get_task_class
from .tracking import (
    RunDir,
    Tracker,
    check_resumable,
    config_hash,
    has_progress,
    peak_memory_mb,
    prepare_run_dir,
    record_resumption,
    run_dir,
    truncate_metrics,
    write_json,
)

logger = logging.getLogger("gift_experiment_utils")


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint."""

    step: int = 0  # optimizer updates done
    epoch: int = 0  # index of the current epoch
    micro: int = 0  # micro-batches of the current epoch done by each process
    training_done: bool = False
    best_value: float | None = None
    best_step: int | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    last_val: dict[str, float] = field(default_factory=dict)
    last_eval_step: int = -1
    last_save_step: int = -1
    wall_time: float = 0.0  # seconds, summed over resumptions


def make_accelerator(config: Config) -> Accelerator:
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:  # one process: forget an Accelerator made before in it
        _reset_accelerate()
    ddp = DistributedDataParallelKwargs(find_unused_parameters=config.train.find_unused_parameters)
    # Without a GPU, cpu=True makes processes started by torchrun/accelerate launch form a gloo group.
    return Accelerator(
        mixed_precision=config.train.mixed_precision, kwargs_handlers=[ddp], cpu=not torch.accelerator.is_available()
    )


def _reset_accelerate() -> None:
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def batch_split(config: Config, world_size: int) -> tuple[int, int]:
    """(micro-batch per process, accumulation) that make one update of `world_size` processes.

    `train.batch_size` is a per-device cap (what fits in memory). With `train.effective_batch_size` E, each of
    the W processes takes E / W examples per update, in micro-batches of the largest divisor of E / W that is at
    most the cap, so micro × accum × W = E exactly on any W that divides E: e.g. E = 32, cap 8 gives
    8 × 4 × 1, 8 × 2 × 2, 8 × 1 × 4, 4 × 1 × 8. An update sees the same E examples for every such split
    (`data.py`). Without E, the accumulation is `train.grad_accum_steps` (default 1) and the cap is the batch.
    """
    train = config.train
    if train.effective_batch_size is None:
        return train.batch_size, train.grad_accum_steps or 1
    effective = train.effective_batch_size
    if effective % world_size:
        fits = [w for w in (1, 2, 4, 8, 16) if effective % w == 0]
        raise ValueError(
            f"Config key 'train.effective_batch_size': {effective} examples per update cannot be split evenly "
            f"over {world_size} processes. Set train.effective_batch_size to a multiple of {world_size} "
            f"(e.g. {effective + world_size - effective % world_size}), or launch on {fits} processes."
        )
    per_process = effective // world_size
    micro = max(d for d in range(1, min(train.batch_size, per_process) + 1) if per_process % d == 0)
    return micro, per_process // micro


class Trainer:
    def __init__(self, config: Config, task: Task, accelerator: Accelerator, run: RunDir) -> None:
        self.config, self.task, self.accelerator, self.run = config, task, accelerator, run
        task.run_folder = run.path  # the task writes its own outputs (predictions) there
        self.is_main = accelerator.is_main_process
        self.progress = Progress()
        self._resume_rng: dict[str, Any] | None = None
        self._loss_window: list[torch.Tensor] = []
        self._time_before, self._clock = 0.0, time.perf_counter()
        self._bar: Any = None  # the training progress bar while fit() runs
        self.tracker = Tracker(run, config, is_main=self.is_main)

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        """Datasets and model + method; then the saved adapter (eval.only) or the optimizer, loaders and resume."""
        config, acc = self.config, self.accelerator
        if not config.eval.only:
            micro, self.accum = batch_split(config, acc.num_processes)  # may fail: before anything loads
            if micro != config.train.batch_size:
                self.info(
                    f"micro-batch {micro} per device (train.batch_size {config.train.batch_size} is the cap): "
                    f"{micro} × {self.accum} accum × {acc.num_processes} processes = train.effective_batch_size "
                    f"{config.train.effective_batch_size}"
                )
        set_seed(config.experiment.seed)
        splits = self.task.build_datasets()
        self.adapted = self._build_model()
        if config.eval.only:
            return self._setup_eval_only(splits)
        train_set = limit(splits.train, config.data.max_train_samples)
        self.layout = Layout(micro, self.accum, acc.num_processes, len(train_set))
        if self.layout.updates == 0:
            raise ValueError(
                f"The training set ({len(train_set)} examples) is smaller than one update "
                f"({micro} micro-batch × accumulation {self.accum} × {acc.num_processes} "
                "processes); lower train.batch_size or train.effective_batch_size."
            )
        self.total_updates = self.layout.updates * config.train.epochs
        if config.train.max_steps is not None:
            self.total_updates = min(self.total_updates, config.train.max_steps)
        self.schedule = build_schedule(
            config.train, updates_per_epoch=self.layout.updates, total_updates=self.total_updates
        )
        optimizer = build_optimizer(self.adapted.module, self.adapted.head_param_ids, config.train)
        self.model, self.optimizer = acc.prepare(self.adapted.module, optimizer)
        self.train_loader = train_loader(
            train_set,
            self.task,
            self.layout,
            rank=acc.process_index,
            seed=config.experiment.seed,
            num_workers=config.data.num_workers,
        )
        self._build_eval_loaders(splits)
        self._log_setup(len(train_set))
        self._maybe_resume()

    def _setup_eval_only(self, splits: Splits) -> None:
        """The saved adapter (if any) on the model as built for training; no optimizer."""
        config = self.config
        source = "as initialised (zero-shot)"
        if config.eval.adapter:
            folder = adapter_folder(config.eval.adapter)
            self.adapted.load(self.adapted.module, folder)  # every tensor name and shape checked
            source = f"with the adapter in {folder}"
        self.model = self.accelerator.prepare(self.adapted.module)
        self._build_eval_loaders(splits)
        if not self.eval_loaders:
            raise ValueError(
                "eval.only=true, but there is nothing to evaluate: the task has no val split and no test split "
                "(or eval.test=false). Set eval.test=true, or give the task an evaluation split."
            )
        self.info(f"run folder {self.run.path}")
        self.info(f"evaluate only: {config.method.name} {source}, on {' and '.join(self.eval_loaders)}")

    def _build_eval_loaders(self, splits: Splits) -> None:
        """Loaders of the val split and, with eval.test, the test split (those the task has)."""
        config, acc = self.config, self.accelerator
        self.eval_loaders = {}
        batch_size = config.data.eval_batch_size or config.train.batch_size
        for split in ("val", "test") if config.eval.test else ("val",):
            dataset = limit(splits.get(split), config.data.max_eval_samples)
            if dataset is not None:
                loader = eval_loader(
                    dataset, self.task, split, batch_size=batch_size, num_workers=config.data.num_workers
                )
                self.eval_loaders[split] = acc.prepare(loader)  # sharded; gather_for_metrics drops the padding

    def _build_model(self) -> AdaptedModel:
        task_model = self.task.build_model()
        dtype = getattr(torch, self.config.model.dtype)
        if dtype != torch.float32 and all(p.dtype == torch.float32 for p in task_model.module.parameters()):
            task_model.module.to(dtype)
        if self.config.model.gradient_checkpointing:
            self.task.enable_gradient_checkpointing(task_model.module)
        adapted = apply_method(self.config.method, task_model)
        if self.config.train.mixed_precision != "no":  # trained weights stay fp32; autocast computes in half
            for param in adapted.module.parameters():
                if param.requires_grad and param.dtype in (torch.float16, torch.bfloat16):
                    param.data = param.data.float()
        return adapted

    def _log_setup(self, train_size: int) -> None:
        layout, count = self.layout, self.adapted.count
        # e.g. 8 batch × 2 accum × 2 processes = 32 examples per update
        self.info(f"run folder {self.run.path}")
        self.info(
            f"{layout.batch_size} batch × {layout.accum} accum × {layout.world_size} processes = "
            f"{layout.examples_per_update} per update; {layout.updates} updates/epoch, {self.total_updates} in all "
            f"({layout.dropped_examples} of {train_size} examples unused per epoch)"
        )
        self.info(
            f"{self.config.method.name}: {count.method:,} trainable ({count.method_percent:.4f}% of "
            f"{count.backbone:,} backbone parameters) + head {count.head:,}"
        )
        self.tracker.summary({f"params/{key}": value for key, value in count.to_dict().items()})

    def info(self, message: str) -> None:
        if self.is_main:
            logger.info(message)

    # ------------------------------------------------------------------ resume
    def _maybe_resume(self) -> None:
        if not self.run.last.is_file():
            return
        if not self.config.checkpoint.resume:
            raise ValueError(
                f"{self.run.last} exists; set checkpoint.resume=true to continue, or delete {self.run.path}."
            )
        checkpoint = ckpt.read(self.run.last)
        state = checkpoint["state"]
        if state["world_size"] != self.accelerator.num_processes:
            raise ValueError(
                f"{self.run.last} was written by {state['world_size']} processes, this run has "
                f"{self.accelerator.num_processes}; resume with the same number, or use a new run folder."
            )
        ckpt.load_last(checkpoint, self.model, self.optimizer.optimizer)
        if "scaler" in state and self.accelerator.scaler is not None:
            self.accelerator.scaler.load_state_dict(state["scaler"])
        self.progress = Progress(**state["progress"])
        self._loss_window = [torch.tensor(loss, device=self.accelerator.device) for loss in state["loss_window"]]
        self._resume_rng = checkpoint["rng"][self.accelerator.process_index]
        if self.is_main:
            truncate_metrics(self.run.metrics, after_step=self.progress.step)
            record_resumption(self.run, step=self.progress.step)
        self.info(
            f"resumed from {self.run.last} at update {self.progress.step} (epoch {self.progress.epoch}, "
            f"micro-batch {self.progress.micro})"
        )

    # ------------------------------------------------------------------ training
    def elapsed(self) -> float:
        """Wall time of the run so far, over all its resumptions."""
        return self._time_before + time.perf_counter() - self._clock

    def fit(self) -> None:
        progress, config = self.progress, self.config
        self._time_before, self._clock = progress.wall_time, time.perf_counter()
        if self._resume_rng is not None:
            ckpt.set_rng_state(self._resume_rng)  # last: everything after this point replays exactly
        elif config.eval.at_start and not progress.training_done:
            self.validate()
        self._bar = tqdm(
            total=self.total_updates,
            initial=progress.step,
            disable=not (self.is_main and config.log.progress_bar),
            desc=self.run.path.name,
            dynamic_ncols=True,
        )
        try:
            while not progress.training_done:
                self._train_epoch()
        finally:
            self._bar.close()
            self._bar = None

    def _train_epoch(self) -> None:
        progress = self.progress
        if self.config.train.schedule_unit == "epoch":
            self.schedule.apply(self.optimizer.optimizer, progress.epoch)
        self.train_loader.sampler.set_position(progress.epoch, progress.micro)
        self.train_loader.generator.manual_seed(self.config.experiment.seed * 100_003 + progress.epoch)
        self.model.train()
        losses = []
        for batch in self.train_loader:
            losses.append(self._micro_step(batch))
            if progress.micro % self.accum:
                continue
            grad_norm = self._update()
            self._bar.update(1)
            self._after_update(torch.stack(losses).mean(), grad_norm)
            losses = []
            if progress.training_done or progress.micro == 0:  # done, or the epoch rolled over
                return

    def _micro_step(self, batch: dict[str, Any]) -> torch.Tensor:
        acc, progress = self.accelerator, self.progress
        if self.config.train.schedule_unit == "step" and progress.micro % self.accum == 0:
            self.schedule.apply(self.optimizer.optimizer, progress.step)
        batch = send_to_device(batch, acc.device)
        last = (progress.micro + 1) % self.accum == 0
        with contextlib.nullcontext() if last else acc.no_sync(self.model):
            loss = self.task.training_loss(self.model, batch)
            acc.backward(loss / self.accum)
        progress.micro += 1
        return loss.detach().float()

    def _update(self) -> torch.Tensor | None:
        grad_norm = None
        if self.config.train.max_grad_norm is not None:
            grad_norm = self.accelerator.clip_grad_norm_(self.model.parameters(), self.config.train.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.progress.step += 1
        return grad_norm

    def _after_update(self, loss: torch.Tensor, grad_norm: torch.Tensor | None) -> None:
        """Log, then validate / checkpoint when a step or epoch boundary asks for it."""
        progress, config = self.progress, self.config
        epoch_ended = progress.micro == self.layout.micro_batches
        if epoch_ended:  # the resume position after the last update of an epoch is (next epoch, 0)
            progress.epoch, progress.micro = progress.epoch + 1, 0
        progress.training_done = progress.step >= self.total_updates
        self._loss_window.append(loss)
        if progress.step % config.train.log_every == 0 or progress.training_done:
            self._log_train(grad_norm)
        if self._due(config.eval, epoch_ended=epoch_ended):
            self.validate()
        if not progress.training_done and self._due(config.checkpoint, epoch_ended=epoch_ended):
            self.save_last()

    def _due(self, section: Any, *, epoch_ended: bool) -> bool:
        """Whether `section` (eval or checkpoint) asks for this update: every_steps, or every_epochs at an epoch end."""
        step, epoch = self.progress.step, self.progress.epoch
        if section.every_steps and step % section.every_steps == 0:
            return True
        return epoch_ended and bool(section.every_epochs) and epoch % section.every_epochs == 0

    def _log_train(self, grad_norm: torch.Tensor | None) -> None:
        loss = self.accelerator.reduce(torch.stack(self._loss_window).mean(), reduction="mean").item()
        self._loss_window = []
        values = {"train/loss": loss}
        for group in self.optimizer.optimizer.param_groups:  # method groups, then head groups (optim.param_groups)
            values.setdefault("train/head_lr" if group["name"].startswith("head") else "train/lr", group["lr"])
        if grad_norm is not None:
            values["train/grad_norm"] = float(grad_norm)
        self.tracker.log(values, step=self.progress.step, epoch=self._epoch_float())
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{loss:.4g}", lr=f"{values.get('train/lr', 0.0):.3g}", refresh=False)

    def _epoch_float(self) -> float:
        """Epochs done, with the part of the current one (micro stays 0 in an evaluate-only run: no layout)."""
        micro = self.progress.micro
        return self.progress.epoch + (micro / self.layout.micro_batches if micro else 0.0)

    # ------------------------------------------------------------------ evaluation
    def selection(self) -> tuple[str, bool]:
        metric = self.config.eval.selection_metric or self.task.selection_metric
        greater = self.config.eval.greater_is_better
        return metric, self.task.greater_is_better if greater is None else greater

    def eval_model(self) -> torch.nn.Module:
        """The model without its DDP wrapper (so `generate` and friends work); FSDP-1 needs its wrapper."""
        acc = self.accelerator
        if acc.distributed_type == DistributedType.FSDP and getattr(acc.state.fsdp_plugin, "fsdp_version", 1) == 1:
            return self.model
        return acc.unwrap_model(self.model)

    def evaluate(self, split: str) -> dict[str, float]:
        """The split's metrics, also logged as `<split>/<metric>` at the current step."""
        model = self.eval_model()
        model.eval()
        metrics = self.task.evaluate(model, self.eval_loaders[split], split, self._gather)
        self.model.train()
        metrics = {k: float(v) for k, v in metrics.items()}
        values = {f"{split}/{k}": v for k, v in metrics.items()}
        self.tracker.log(values, step=self.progress.step, epoch=self._epoch_float())
        return metrics

    def _gather(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return self.accelerator.gather_for_metrics(value)
        return self.accelerator.gather_for_metrics(list(value), use_gather_object=True)

    def validate(self) -> None:
        progress = self.progress
        if "val" not in self.eval_loaders or progress.last_eval_step == progress.step:
            return
        metrics = self.evaluate("val")
        progress.last_val, progress.last_eval_step = metrics, progress.step
        self.info(f"validation at update {progress.step} (epoch {self._epoch_float():.2f}): {_short(metrics)}")
        name, greater = self.selection()
        if name not in metrics:
            raise ValueError(
                f"Selection metric {name!r} is not among the validation metrics {sorted(metrics)}; "
                "set eval.selection_metric to one of them."
            )
        value = metrics[name]
        if progress.best_value is None or (value > progress.best_value if greater else value < progress.best_value):
            progress.best_value, progress.best_step, progress.best_metrics = value, progress.step, metrics
            if self.config.checkpoint.save_best:
                ckpt.save_best(self.run.best, self.model, state={"progress": asdict(progress)}, is_main=self.is_main)

    # ------------------------------------------------------------------ checkpoints
    def save_last(self) -> None:
        progress = self.progress
        progress.wall_time, progress.last_save_step = self.elapsed(), progress.step
        state = {
            "progress": asdict(progress),
            "world_size": self.accelerator.num_processes,
            "loss_window": [loss.item() for loss in self._loss_window],  # losses since the last logged row
        }
        if self.accelerator.scaler is not None:
            state["scaler"] = self.accelerator.scaler.state_dict()
        rngs = gather_object([ckpt.rng_state()]) if self.accelerator.num_processes > 1 else [ckpt.rng_state()]
        ckpt.save_last(
            self.run.last, self.model, self.optimizer.optimizer, state=state, rngs=rngs, is_main=self.is_main
        )
        self.accelerator.wait_for_everyone()

    # ------------------------------------------------------------------ the end
    def evaluate_only(self) -> dict[str, Any]:
        """Evaluate each split set up (val, then test) once, as step 0; the results of a run without training."""
        self._time_before, self._clock = 0.0, time.perf_counter()
        metrics = {f"{split}/{k}": v for split in self.eval_loaders for k, v in self.evaluate(split).items()}
        return self._results(metrics, self._replicas_identical())

    def finish(self) -> dict[str, Any]:
        progress, config = self.progress, self.config
        self.validate()
        if progress.last_save_step != progress.step or not self.run.last.is_file():
            self.save_last()
        identical = self._replicas_identical()
        metrics = {f"val/{k}": v for k, v in progress.last_val.items()}
        metrics |= {f"best_val/{k}": v for k, v in progress.best_metrics.items()}
        if "test" in self.eval_loaders:  # built only with eval.test
            if config.eval.test_weights == "best":
                self._load_best()
            metrics |= {f"test/{k}": v for k, v in self.evaluate("test").items()}
        return self._results(metrics, identical)

    def _load_best(self) -> None:
        if self.progress.best_step is None or not self.config.checkpoint.save_best:
            self.info(
                "eval.test_weights=best, but no best weights were saved (no validation split, or "
                "checkpoint.save_best=false): testing the last weights"
            )
            return
        ckpt.load_trainable(self.model, ckpt.read(self.run.best)["trainable"])

    @torch.no_grad()
    def _replicas_identical(self) -> bool | None:
        """Under DDP every process must hold the same trained weights: compare float64 sums and norms."""
        if self.accelerator.distributed_type == DistributedType.FSDP:
            return None  # sharded: each process holds its own part
        params = [p for _, p in sorted(self.accelerator.unwrap_model(self.model).named_parameters()) if p.requires_grad]
        summary = torch.stack(
            [s for p in params for s in (p.sum(dtype=torch.float64), torch.linalg.vector_norm(p, dtype=torch.float64))]
        )  # (2 · parameters,), identical bits on identical tensors
        gathered = self.accelerator.gather(summary[None])  # (processes, 2 · parameters)
        return bool((gathered == gathered[0]).all())

    def _results(self, metrics: dict[str, float], identical: bool | None) -> dict[str, Any]:
        progress, config = self.progress, self.config
        memory, memory_kind = peak_memory_mb()
        name, greater = self.selection()
        trained = not config.eval.only
        results = {
            "metrics": metrics,
            "selection": {
                "metric": f"val/{name}",
                "greater_is_better": greater,
                "best_value": progress.best_value,
                "best_step": progress.best_step,
            },
            "params": self.adapted.count.to_dict(),
            "steps": progress.step,
            "epochs": round(self._epoch_float(), 4) if progress.micro else progress.epoch,
            "effective_batch_size": self.layout.examples_per_update if trained else None,
            "eval_only": not trained,
            "world_size": self.accelerator.num_processes,
            "replicas_identical": identical,
            "wall_time_s": self.elapsed(),
            "peak_memory_mb": memory,
            "peak_memory_kind": memory_kind,
            "run": {
                "domain": config.experiment.domain,
                "experiment": config.experiment.name,
                "name": self.run.path.name,
                "seed": config.experiment.seed,
                "method": config.method.name,
                "config_hash": config_hash(config),  # of every key but the seed: equal for one row's seeds
            },
        }
        if config.eval.only:  # which weights were evaluated: none (zero-shot), or these files
            results["adapter"] = None
            if config.eval.adapter:
                folder = adapter_folder(config.eval.adapter)
                results["adapter"] = {"path": str(folder.resolve()), "sha256": adapter_fingerprint(folder)}
        return results


# ---------------------------------------------------------------------------------------------- entry
def run(config: Config) -> dict[str, Any] | None:
    """Train and evaluate one config (or only evaluate it: eval.only); returns results.json's content (None if it
    was already done)."""
    task = get_task_class(config.experiment.domain)(config)
    folder = run_dir(config, task.tag())
    check_resumable(folder, config)  # a folder holding another experiment is an error, never a reuse
    if folder.is_done():
        logger.info(f"{folder.path} is finished with this config (results.json exists); nothing to do.")
        return None
    if config.eval.adapter:
        check_adapter(config)  # its kind, method and backbone, before anything loads
    accelerator = make_accelerator(config)
    trainer = None
    created, set_up = not folder.path.exists(), False
    try:
        prepare_run_dir(folder, config, accelerator)
        trainer = Trainer(config, task, accelerator, folder)
        trainer.setup()
        set_up = True
        if config.eval.only:
            results = trainer.evaluate_only()
        else:
            trainer.fit()
            results = trainer.finish()
        _write_outputs(trainer, results)
        return results
    finally:
        if trainer is not None:
            trainer.tracker.finish()
        if not set_up and created and accelerator.is_main_process and not has_progress(folder):
            shutil.rmtree(folder.path, ignore_errors=True)  # a setup that failed leaves no folder behind
        if accelerator.num_processes == 1:  # allow another run in this process (sweeps, tests)
            _reset_accelerate()


def _write_outputs(trainer: Trainer, results: dict[str, Any]) -> None:
    run, config = trainer.run, trainer.config
    if config.checkpoint.export and not config.eval.only:  # evaluate-only: nothing new to export
        module = trainer.accelerator.unwrap_model(trainer.model)
        if trainer.is_main:
            trainer.adapted.export(module, run.adapter)
    if trainer.is_main:
        trainer.tracker.summary(results["metrics"])
        write_json(run.results, results)
        if not config.checkpoint.keep_last_at_end:
            run.last.unlink(missing_ok=True)
        trainer.info(f"done: {_short(results['metrics'])} -> {run.results}")
    trainer.accelerator.wait_for_everyone()


def _short(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if not k.endswith("num_examples"))
