"""`genomni studio`: a local web app over genomni's outputs (datasets, decompositions, eval outputs, training runs,
footage folders); `discover` finds them, `views` computes what the pages show, `server` answers the browser."""
