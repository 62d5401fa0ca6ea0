"""Flask layer: thin views per audience. Domain logic lives in the modules above."""
