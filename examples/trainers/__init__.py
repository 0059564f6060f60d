"""One module per RL library; each exposes `train(env, cfg)` and `play(env, cfg)`."""
