"""A JEPA world model (V-JEPA 2-AC): observation encoder, action-conditioned predictor, rollouts,
and the demo tabletop world it is trained and evaluated in (docs/world-model.md)."""
