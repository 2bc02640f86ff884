"""The two OCR networks, written with paddle.nn the way PaddleOCR's mobile models are shaped.

- `DBDetector`: a DB-style text detector. A small convolutional backbone (strides 2 to 32),
  a feature pyramid merged at stride 4, and a probability-map head that upsamples back to the
  input size with two transposed convolutions. It marks each text line's shrunk kernel (see
  train.py), which the post-processing grows back ("unclip").
- `CRNNRecognizer`: a CRNN-style recogniser. Convolutions over 48-pixel-high crops, a mean over
  the height axis, a transformer encoder as sequence mixer, and a CTC head with softmax.

Both are trained on the project's synthetic pages (reference_server/models/train.py); `forward`
is what is exported (probabilities), `logits` what training optimises.

Paddle 3.3 pitfalls, each met while building these: `forward(self, x)` must take `self` first for
jit.save; F.interpolate fails on the oneDNN executor (see `upsample_nearest`); LSTM and AdaptiveAvgPool2D((1, None)) fail at predictor run time, so
the recogniser uses a mean over the height axis and a TransformerEncoderLayer.
"""

from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from reference_server.charset import NUM_CLASSES
from reference_server.models.presets import Preset


def upsample_nearest(x, factor: int):
    """Nearest-neighbour upsampling. `F.interpolate` exports, but Paddle 3.3's oneDNN executor
    rejects its float scale attribute at run time (ConvertPirAttribute2RuntimeAttribute ...
    ArrayAttribute<DoubleAttribute>), with `scale_factor` or `size` alike; repeat_interleave runs."""
    return paddle.repeat_interleave(paddle.repeat_interleave(x, factor, axis=2), factor, axis=3)


class ConvBNAct(nn.Layer):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int | tuple[int, int] = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2D(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias_attr=False)
        self.bn = nn.BatchNorm2D(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Stage(nn.Layer):
    """A downsampling conv followed by a depthwise-separable block, as in mobile backbones."""

    def __init__(self, cin: int, cout: int, stride: int | tuple[int, int]):
        super().__init__()
        self.down = ConvBNAct(cin, cout, 3, stride)
        self.dw = ConvBNAct(cout, cout, 3, 1, groups=cout)
        self.pw = ConvBNAct(cout, cout, 1)

    def forward(self, x):
        return self.pw(self.dw(self.down(x)))


class DBDetector(nn.Layer):
    def __init__(self, preset: Preset):
        super().__init__()
        c = preset.det_channels
        self.stages = nn.LayerList([Stage(3 if i == 0 else c[i - 1], c[i], 2) for i in range(len(c))])
        f = preset.det_fpn
        # Lateral 1x1 convs for strides 4, 8, 16, 32; smoothing convs to f // 4 channels each.
        self.laterals = nn.LayerList([nn.Conv2D(ch, f, 1) for ch in c[1:]])
        self.smooth = nn.LayerList([nn.Conv2D(f, f // 4, 3, padding=1) for _ in c[1:]])
        q = f // 4
        self.head_conv = ConvBNAct(f, q, 3)
        self.head_up1 = nn.Conv2DTranspose(q, q, 2, stride=2)
        self.head_bn = nn.BatchNorm2D(q)
        self.head_up2 = nn.Conv2DTranspose(q, 1, 2, stride=2)
        # The ink shortcut (see `logits`): its gain is learned, starting where ink alone marks lines.
        self.ink_gain = self.create_parameter([1], default_initializer=nn.initializer.Constant(1.0))

    def forward(self, x):
        return F.sigmoid(self.logits(x))

    def logits(self, x):
        feats = []
        h = x
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        pyramid = [lat(ft) for lat, ft in zip(self.laterals, feats[1:])]  # strides 4, 8, 16, 32
        for i in range(len(pyramid) - 1, 0, -1):  # top-down pathway
            pyramid[i - 1] = pyramid[i - 1] + upsample_nearest(pyramid[i], 2)
        merged = [self.smooth[0](pyramid[0])]
        for i in range(1, len(pyramid)):
            merged.append(upsample_nearest(self.smooth[i](pyramid[i]), 2**i))
        fused = paddle.concat(merged, axis=1)
        h = self.head_conv(fused)
        h = F.relu(self.head_bn(self.head_up1(h)))
        # Ink shortcut: darkness (the negated normalised grey), dilated along the line so that the
        # letters of a word merge, added to the logit with a learned gain. The network learns the
        # rest (spaces between words, where a line's kernel ends); with it, a few minutes of
        # training on 2 cores find the lines, where the head alone kept marking whole text areas.
        dark = -paddle.mean(x, axis=1, keepdim=True)
        ink = F.max_pool2d(dark, kernel_size=(3, 9), stride=1, padding=(1, 4))
        return self.head_up2(h) + self.ink_gain * ink  # [N, 1, H, W]: the text-kernel logit of each pixel


class CRNNRecognizer(nn.Layer):
    def __init__(self, preset: Preset):
        super().__init__()
        c = preset.rec_channels
        # The first two stages halve height and width; later ones halve the height only.
        strides = [(2, 2), (2, 2)] + [(2, 1)] * (len(c) - 2)
        self.stages = nn.LayerList([Stage(3 if i == 0 else c[i - 1], c[i], strides[i]) for i in range(len(c))])
        self.proj = nn.Linear(c[-1], preset.rec_hidden)
        self.mixer = nn.LayerList(
            [
                nn.TransformerEncoderLayer(preset.rec_hidden, preset.rec_heads, preset.rec_hidden * 2, dropout=0.0)
                for _ in range(preset.rec_layers)
            ]
        )
        self.head = nn.Linear(preset.rec_hidden, NUM_CLASSES)

    def forward(self, x):
        return F.softmax(self.logits(x), axis=-1)  # [N, T, classes]

    def logits(self, x):
        h = x
        for stage in self.stages:
            h = stage(h)
        h = paddle.mean(h, axis=2)  # [N, C, T]
        h = paddle.transpose(h, [0, 2, 1])  # [N, T, C]
        h = self.proj(h)
        for layer in self.mixer:
            h = layer(h)
        return self.head(h)  # [N, T, classes]
