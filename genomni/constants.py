"""Numbers every stage must agree on, in one torch-free module (render workers import it too)."""

EFFECT_LEVELS = 6  # |background - input| above this (0..255, any channel) counts as an effect (shadow, reflection)
EFFECT_DILATE = 2  # px the object masks grow before the effect region starts
DEFAULT_FPS = 24.0  # the frame rate assumed where a source has none (frame folders, old metadata)
PSNR_CAP = 100.0  # dB: identical frames score this instead of infinity
CASPER_FILE = "casper.json"  # genomni's record in a Casper model dir
DEFAULT_STEPS = 30  # sampling steps of a model that records no `inference_steps` of its own
MASK_THRESHOLD = 127  # an object mask pixel is the object where its value (0..255) is above this
