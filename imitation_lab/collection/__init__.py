"""Making datasets: scripted experts, policy sources (rl-zoo, CS285, checkpoints), Minari writer."""
