"""Rollouts in Gymnasium vector envs: the one rollout loop and seeded evaluation."""
