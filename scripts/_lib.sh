# Sourced by every script in scripts/ (never run alone): the flags they share, the repository root, and
# running or printing their commands.
#
#   -h, --help      print the script's header (the comment block under its first line) and exit 0
#   --dry-run       print the commands the script would run, one a line, shell-quoted; run none of them
#   -- key=value    dotted config overrides appended to every run the script launches
#
# The scripts work from any directory: they change to the repository root first (a dry run prints that `cd`),
# so relative paths in their arguments, in ACCELERATE_CONFIG and in overrides are relative to the repository
# root, and run folders go to <repository>/runs/ unless experiment.output_root says otherwise.
#   env: ACCELERATE_CONFIG  accelerate config of every launch (default configs/accelerate/1gpu.yaml)
#        PYTHON             interpreter with this repository installed (default: python)

GIFT_SCRIPT="${BASH_SOURCE[1]}"  # the script that sourced this file
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PYTHON="${PYTHON:-python}"
DRY_RUN=0
ARGS=()       # the script's own arguments (flags and `--` removed)
OVERRIDES=()  # after `--`

gift_usage() {  # the script's header comment, '# ' removed
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$GIFT_SCRIPT"
}

gift_fail() {  # gift_fail MESSAGE: the message and the usage line on stderr, exit 2
  echo "error: $1" >&2
  awk 'NR == 2 { sub(/^# ?/, ""); print; exit }' "$GIFT_SCRIPT" >&2
  exit 2
}

gift_help() {  # -h/--help before `--`: print the usage and exit 0
  local arg
  for arg in "$@"; do
    [[ $arg == -- ]] && return 0
    if [[ $arg == -h || $arg == --help ]]; then
      gift_usage
      exit 0
    fi
  done
}

gift_parse() {  # gift_parse "$@": sets ARGS, OVERRIDES, DRY_RUN; changes to the repository root
  gift_help "$@"
  while (($#)); do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --) shift; OVERRIDES=("$@"); break ;;
      *) ARGS+=("$1") ;;
    esac
    shift
  done
  local override
  for override in "${OVERRIDES[@]}"; do
    [[ $override =~ ^[A-Za-z_][A-Za-z0-9_.]*= ]] || gift_fail "'$override' after -- is not a key=value override"
  done
  cd "$REPO"
  ((!DRY_RUN)) || gift_quote cd "$REPO"
}

gift_no_overrides() {  # for scripts that launch no runs
  ((${#OVERRIDES[@]} == 0)) || gift_fail "this script launches no runs, so it takes no overrides after --"
}

gift_quote() {  # one shell-quoted line, as Python's shlex.join writes it
  local words=() arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
      words+=("$arg")
    else
      words+=("'${arg//\'/\'\"\'\"\'}'")
    fi
  done
  echo "${words[*]}"
}

gift_run() {  # gift_run CMD ...: run it, or print it under --dry-run
  if ((DRY_RUN)); then
    gift_quote "$@"
  else
    "$@"
  fi
}

gift_config() {  # gift_config PATH (relative to the repository): CONFIG, its absolute path, which must exist
  CONFIG="$REPO/$1"
  [[ -f $CONFIG ]] || gift_fail "no config $1 (--help lists the choices)"
}

gift_seeds() {  # gift_seeds "DEFAULTS" [SEED ...]: SEEDS, the given integers or the defaults
  SEEDS=("${@:2}")
  ((${#SEEDS[@]})) || read -ra SEEDS <<<"$1"
  local seed
  for seed in "${SEEDS[@]}"; do
    [[ $seed =~ ^[0-9]+$ ]] || gift_fail "SEED '$seed' is not an integer (key=value overrides go after --)"
  done
}

gift_accelerate() {  # ACCELERATE: the absolute path of ACCELERATE_CONFIG, which must exist
  ACCELERATE="${ACCELERATE_CONFIG:-configs/accelerate/1gpu.yaml}"
  [[ $ACCELERATE == /* ]] || ACCELERATE="$REPO/$ACCELERATE"
  [[ -f $ACCELERATE ]] || gift_fail "ACCELERATE_CONFIG: no file $ACCELERATE (relative paths start at $REPO)"
}

gift_launch() {  # gift_launch CONFIG [key=value ...]: one run through accelerate, the script's overrides last
  gift_accelerate
  gift_run accelerate launch --config_file "$ACCELERATE" -m gift_experiment_utils.run \
    --config "$1" "${@:2}" "${OVERRIDES[@]}"
}

gift_seed_runs() {  # gift_seed_runs [key=value ...]: one run of CONFIG per seed of SEEDS, with those keys
  local seed
  for seed in "${SEEDS[@]}"; do
    gift_launch "$CONFIG" "$@" "experiment.seed=$seed"
  done
}

gift_lm_runs() {  # gift_lm_runs TASK "DEFAULT SEEDS": BACKBONE ROW [SEED ...] of ARGS, one run per seed of
  # configs/language_modeling/BACKBONE/TASK_ROW.yaml
  ((${#ARGS[@]} >= 2)) || gift_fail "give BACKBONE and ROW"
  gift_config "configs/language_modeling/${ARGS[0]}/$1_${ARGS[1]}.yaml"
  gift_seeds "$2" "${ARGS[@]:2}"
  gift_seed_runs
}

gift_sweep() {  # gift_sweep SWEEP: its search (skipping finished runs), the selection and the final seeds
  gift_accelerate
  local launcher
  launcher="$(gift_quote accelerate launch --config_file "$ACCELERATE" -m gift_experiment_utils.run)"
  gift_run "$PYTHON" -m gift_experiment_utils.sweep run "$1" --launcher "$launcher" "${OVERRIDES[@]}"
  gift_run "$PYTHON" -m gift_experiment_utils.sweep select "$1" --run --launcher "$launcher" "${OVERRIDES[@]}"
}

gift_table() {  # gift_table MODULE OUT ARG ...: the table of sweeps (ARGs) into OUT.{md,csv,png}
  local out=$2 overrides=()
  if ((${#OVERRIDES[@]})); then  # the sweeps ran with them; a smoke run does not overwrite the real table
    out+="-overridden"
    overrides=(--overrides "${OVERRIDES[@]}")
  fi
  gift_run "$PYTHON" -m "$1" "${@:3}" --out "$out" "${overrides[@]}"
}

gift_vision_table() {  # gift_vision_table BENCHMARK METHOD...: the table of those sweeps (default: the paper's rows)
  local benchmark=$1 method sweeps=()
  shift
  (($#)) || set -- vpt bitfit lora gift
  for method in "$@"; do
    gift_config "configs/vision/$benchmark/sweeps/${benchmark}_$method.yaml"
    sweeps+=("$CONFIG")
  done
  gift_table gift_experiment_utils.domains.vision.results "results/vision/$benchmark" "${sweeps[@]}" --paper
}
