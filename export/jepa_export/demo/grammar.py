"""What a demo clip shows, and the words that describe it.

Training captions come from `TRAINING_TEMPLATES`; evaluation also asks with `PARAPHRASE_TEMPLATES`,
whose words (synonyms, phrasing) training never sees, to measure how far the text encoder carries
the model beyond its own grammar.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

Shape = Literal["circle", "square", "triangle"]
Colour = Literal["red", "green", "blue", "yellow"]
Direction = Literal["left", "right", "up", "down"]

SHAPES: tuple[Shape, ...] = ("circle", "square", "triangle")
COLOURS: tuple[Colour, ...] = ("red", "green", "blue", "yellow")
DIRECTIONS: tuple[Direction, ...] = ("left", "right", "up", "down")

# The canonical template: the template captions of evaluation and the decoder's target language.
CANONICAL_TEMPLATE = "a {colour} {shape} moving {direction}"
TRAINING_TEMPLATES: tuple[str, ...] = (
    CANONICAL_TEMPLATE,
    "a {colour} {shape} moves {direction}",
    "the {shape} is {colour} and moves {direction}",
)
PARAPHRASE_TEMPLATES: tuple[str, ...] = (
    "a {colour} {shape} {motion}",
    "there is a {colour} {shape} {motion}",
    "{motion_verb} across the frame, a {colour} {shape}",
    "footage of a {colour} {shape} {motion}",
)
_PARAPHRASE_COLOURS: dict[Colour, tuple[str, ...]] = {
    "red": ("crimson", "scarlet", "ruby-coloured"),
    "green": ("emerald", "grass-green", "lime"),
    "blue": ("azure", "navy", "cobalt"),
    "yellow": ("golden", "lemon-coloured", "amber"),
}
_PARAPHRASE_SHAPES: dict[Shape, tuple[str, ...]] = {
    "circle": ("disc", "ball", "round dot"),
    "square": ("box", "block", "four-sided tile"),
    "triangle": ("wedge", "three-sided shape", "pyramid"),
}
_PARAPHRASE_MOTIONS: dict[Direction, tuple[str, ...]] = {
    "left": ("sliding to the left", "heading leftward", "drifting towards the left edge"),
    "right": ("gliding to the right", "heading rightward", "drifting towards the right edge"),
    "up": ("rising upward", "climbing towards the top", "floating up"),
    "down": ("falling downward", "sinking towards the bottom", "dropping down"),
}


class ClipAttributes(BaseModel):
    """The class of a demo clip: what a correct caption must name."""

    model_config = ConfigDict(frozen=True)

    shape: Shape
    colour: Colour
    direction: Direction

    @property
    def class_index(self) -> int:
        return ALL_CLASSES.index(self)

    def caption(self, template: str = CANONICAL_TEMPLATE) -> str:
        return template.format(colour=self.colour, shape=self.shape, direction=self.direction)

    def paraphrases(self) -> list[str]:
        """One paraphrase per paraphrase template, synonyms picked per class so all get used."""
        index = self.class_index
        captions = []
        for template_index, template in enumerate(PARAPHRASE_TEMPLATES):
            pick = index + template_index
            colour = _PARAPHRASE_COLOURS[self.colour][pick % 3]
            shape = _PARAPHRASE_SHAPES[self.shape][(pick // 3) % 3]
            motion = _PARAPHRASE_MOTIONS[self.direction][(pick + 1) % 3]
            caption = template.format(colour=colour, shape=shape, motion=motion, motion_verb=motion.capitalize())
            captions.append(re.sub(r"\ba (?=[aeiou])", "an ", caption))
        return captions

    def named_in(self, caption: str) -> bool:
        """Whether a caption names this clip's shape, colour and direction (the captioning judge)."""
        words = set(caption.lower().split())
        return {self.shape, self.colour, self.direction} <= words


ALL_CLASSES: tuple[ClipAttributes, ...] = tuple(
    ClipAttributes(shape=shape, colour=colour, direction=direction)
    for shape, colour, direction in itertools.product(SHAPES, COLOURS, DIRECTIONS)
)


def canonical_captions() -> list[str]:
    """The template caption of every class, in class-index order (the zero-shot label set)."""
    return [attributes.caption() for attributes in ALL_CLASSES]


def caption_vocabulary() -> list[str]:
    """Every word of the canonical template language, in a fixed order."""
    words: list[str] = []
    for caption in canonical_captions():
        words.extend(word for word in caption.split() if word not in words)
    return words
