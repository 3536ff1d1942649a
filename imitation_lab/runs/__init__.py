"""A sweep's jobs: claiming run dirs, training groups of members, the batched launcher's
planning, Optuna trials and cluster requeues."""
