#!/bin/bash
# One kubric dataset made by a SLURM job array: task I makes the output shards j with j % 64 == I.
# All tasks write into the same --out (a shared filesystem, or a URL such as s3://bucket/kubric);
# each rewrites manifest.jsonl and dataset.json from every finished shard, so the last one leaves
# the complete index. A failed task is resubmitted as is: it resumes where it stopped.
#SBATCH --job-name=genomni-kubric
#SBATCH --array=0-63
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=12:00:00
#SBATCH --output=logs/kubric-%A-%a.out

set -euo pipefail
source .venv/bin/activate     # pip install 'genomni[render]' (plus s3fs for s3:// outputs)

genomni generate kubric \
    --out /shared/datasets/kubric-v1 \
    --num-scenes 100000 --seed 0 \
    --num-shards 64 --shard-index "${SLURM_ARRAY_TASK_ID}" \
    --workers 2 --scenes-per-process 32 --no-progress
