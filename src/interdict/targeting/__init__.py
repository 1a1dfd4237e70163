"""Container and declaration targeting: the learned model (mapping loader, point-in-time features,
LightGBM scoring with reasons in words, evaluation). Pure Python: no database tables."""
