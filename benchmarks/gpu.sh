#!/usr/bin/env bash
# Usage: bash benchmarks/gpu.sh [flags of benchmarks/gpu_throughput.py, e.g. --length 4096 --rank 16]
#
# GIFT vs PEFT LoRA vs the frozen floor on ONE H100/H200: training tokens/s and peak memory of a
# Llama-3-8B-shaped model with random bf16 weights (no download), 1×2048 tokens, r=64 on q_proj/v_proj.
# Each variant runs in its own process; the whole run takes about 3 minutes. Results: benchmarks/results/gpu.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi not found" >&2
exec "$PYTHON" -m benchmarks.gpu_throughput "$@"
