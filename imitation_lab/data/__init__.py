"""Reading datasets for training: the Minari store, validation, flat tensors, reference scores."""
