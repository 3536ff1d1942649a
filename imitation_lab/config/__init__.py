"""Config -> objects: typed schemas, which keys matter (identity), checks, and the one
instantiate helper. The only layer below the apps that reads Hydra/OmegaConf configs."""
