"""Speed and memory benchmarks of GIFT against the frozen floor, PEFT LoRA and the naive form (BENCHMARKS.md)."""
