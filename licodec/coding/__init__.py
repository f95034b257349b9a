"""How a model's latents are coded once its probability path is integers: the procedure of each architecture
and the decoder-update stream. numpy only: the PyTorch models and the numpy decoder (:mod:`licodec.decoder`)
run the same code."""
