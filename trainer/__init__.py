"""ANCoEF trainer: datasets, SNN supernet, training and export."""
