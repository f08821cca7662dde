//! What a key's name says its module is: the module kinds of `torch.nn`
//! and of torchvision's and timm's common blocks, read from the key's
//! last word, and how tico 0.3.0 lowers each (fixtures/lowerings.json
//! measures it; docs/name-mapping.md has the table).

/// A module kind, as far as its operators go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// BatchNorm1d/2d: MUL then ADD (the ADD ends it).
    BatchNorm,
    /// LayerNorm, GroupNorm, InstanceNorm, RMSNorm: MEAN, SUB, MUL, MEAN,
    /// ADD, RSQRT, MUL (between RESHAPEs for GroupNorm), then MUL and ADD.
    LayerNorm,
    /// `norm`: either of the above.
    Norm,
    Activation(Activation),
    /// MaxPool1d/2d and adaptive max pools: MAX_POOL_2D (PADV2 in front).
    MaxPool,
    /// AvgPool, AdaptiveAvgPool (to 1): AVERAGE_POOL_2D or MEAN.
    AvgPool,
    /// `pool`: either.
    Pool,
    Softmax,
    /// Upsample, interpolate: RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR.
    Resize,
    /// PixelShuffle, channel shuffle: RESHAPE, TRANSPOSE (a reordering),
    /// RESHAPE; the TRANSPOSE holds the output first.
    Shuffle,
    /// Passes its input on unchanged (Dropout, Identity, stochastic depth).
    Identity,
    Add {
        relu: bool,
    },
    /// A product of two values (a squeeze-excitation's scaling, a layer
    /// scale).
    Mul,
    Cat,
    Pad,
    /// Flatten, Unflatten, a permutation: the values in another layout.
    Layout,
    /// Linear, attention projections: FULLY_CONNECTED (BATCH_MATMUL).
    Linear,
    /// Conv1d/2d, ConvTranspose2d: CONV_2D, DEPTHWISE_CONV_2D,
    /// TRANSPOSE_CONV.
    Conv,
    /// MultiheadAttention and attention blocks: ends with the output
    /// projection (FULLY_CONNECTED).
    Attention,
    /// A numbered or block-like container (a residual block, an inverted
    /// residual, a fused-MBConv, a stage): ends with its last child, or
    /// with the merge (a residual ADD) that follows it.
    Block,
    /// Any other container (a squeeze-excitation, an MLP): ends with its
    /// last child.
    Container,
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Relu6,
    /// Sigmoid, Hardsigmoid (ADD+RELU6, DIV).
    Sigmoid,
    Tanh,
    Gelu,
    /// SiLU / Swish: LOGISTIC, MUL (the MUL ends it).
    Silu,
    /// Hardswish: ADD+RELU6, MUL, DIV (the DIV ends it).
    Hardswish,
    Any,
}

/// Container names of blocks that may end with a merge after their last
/// child (torchvision's and timm's residual units).
const BLOCK_WORDS: [&str; 20] = [
    "layer",
    "layers",
    "block",
    "blocks",
    "stage",
    "stages",
    "res",
    "resblock",
    "bottleneck",
    "basicblock",
    "encoder_layer",
    "decoder_layer",
    "denseblock",
    "dense_block",
    "denselayer",
    "unit",
    "units",
    "features",
    "mbconv",
    "fused_mbconv",
];

/// Words naming modules, by kind (matched against the key's last word, and
/// against its last `_`-separated part: `squeeze_activation`, `attn_drop`).
const WORDS: &[(&[&str], Kind)] = &[
    (
        &[
            "bn",
            "batchnorm",
            "batch_norm",
            "bnorm",
            "batchnorm2d",
            "bn2d",
        ],
        Kind::BatchNorm,
    ),
    (
        &[
            "ln",
            "layernorm",
            "layer_norm",
            "lnorm",
            "gn",
            "groupnorm",
            "group_norm",
            "instancenorm",
            "instance_norm",
            "rmsnorm",
            "rms_norm",
        ],
        Kind::LayerNorm,
    ),
    (&["norm", "normalization", "normalize"], Kind::Norm),
    (&["relu", "lrelu_relu"], Kind::Activation(Activation::Relu)),
    (
        &[
            "sigmoid",
            "logistic",
            "hardsigmoid",
            "hsigmoid",
            "hard_sigmoid",
            "gate",
        ],
        Kind::Activation(Activation::Sigmoid),
    ),
    (&["tanh"], Kind::Activation(Activation::Tanh)),
    (&["gelu"], Kind::Activation(Activation::Gelu)),
    (&["silu", "swish"], Kind::Activation(Activation::Silu)),
    (
        &["hardswish", "hswish", "hard_swish"],
        Kind::Activation(Activation::Hardswish),
    ),
    (
        &[
            "act",
            "activation",
            "leakyrelu",
            "leaky_relu",
            "lrelu",
            "elu",
            "selu",
            "celu",
            "prelu",
            "mish",
            "softplus",
            "nonlinearity",
            "nonlin",
        ],
        Kind::Activation(Activation::Any),
    ),
    (
        &[
            "maxpool",
            "max_pool",
            "mp",
            "adaptivemaxpool",
            "adaptive_max_pool",
        ],
        Kind::MaxPool,
    ),
    (
        &[
            "avgpool",
            "avg_pool",
            "adaptiveavgpool",
            "adaptive_avg_pool",
            "gap",
            "global_pool",
            "globalpool",
            "global_avg_pool",
            "avg",
        ],
        Kind::AvgPool,
    ),
    (&["pool", "pooling", "downsample_pool"], Kind::Pool),
    (&["softmax", "log_softmax", "logsoftmax"], Kind::Softmax),
    (
        &[
            "upsample",
            "up",
            "upsampling",
            "interpolate",
            "resize",
            "up_sample",
        ],
        Kind::Resize,
    ),
    (
        &[
            "pixel_shuffle",
            "pixelshuffle",
            "pixel_unshuffle",
            "pixelunshuffle",
            "shuffle",
            "channel_shuffle",
        ],
        Kind::Shuffle,
    ),
    (
        &[
            "dropout",
            "drop",
            "identity",
            "drop_path",
            "droppath",
            "stochastic_depth",
            "dropblock",
            "drop_block",
            "noop",
        ],
        Kind::Identity,
    ),
    (&["add_relu"], Kind::Add { relu: true }),
    (
        &[
            "add",
            "skip_add",
            "residual",
            "shortcut",
            "ff",
            "functional",
        ],
        Kind::Add { relu: false },
    ),
    (
        &["mul", "mult", "scale", "layer_scale", "ls", "gamma"],
        Kind::Mul,
    ),
    (&["cat", "concat"], Kind::Cat),
    (&["pad", "padding", "zeropad", "zero_pad"], Kind::Pad),
    (
        &[
            "flatten",
            "reshape",
            "view",
            "permute",
            "transpose",
            "unflatten",
            "squeeze",
        ],
        Kind::Layout,
    ),
    (
        &[
            "attn",
            "attention",
            "self_attn",
            "self_attention",
            "mha",
            "multihead_attn",
            "cross_attn",
        ],
        Kind::Attention,
    ),
    (
        &["conv", "downsample", "conv_transpose", "deconv"],
        Kind::Conv,
    ),
];

/// The kind `key` names; `is_container` when other keys sit under it.
pub fn kind_of(key: &str, is_container: bool) -> Kind {
    let last = key.rsplit(['.', '/']).next().unwrap_or(key).to_lowercase();
    let word = last.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
    if is_container {
        return if word.is_empty()
            || BLOCK_WORDS.contains(&word)
            || BLOCK_WORDS.iter().any(|b| word.ends_with(&format!("_{b}")))
        {
            Kind::Block
        } else {
            Kind::Container
        };
    }
    if last == "relu6" || word == "relu6" {
        return Kind::Activation(Activation::Relu6);
    }
    if let Some(kind) = by_word(word) {
        return kind;
    }
    // The last `_`-separated part: `scale_activation`, `attn_drop`,
    // `conv_dw`.
    let tail = word
        .rsplit('_')
        .next()
        .unwrap_or(word)
        .trim_end_matches(|c: char| c.is_ascii_digit());
    if tail != word {
        if let Some(kind) = by_word(tail) {
            return kind;
        }
    }
    match word {
        w if w.contains("linear")
            || w.contains("proj")
            || w == "fc"
            || w == "dense"
            || w == "classifier"
            || w == "head"
            || w == "qkv"
            || w.starts_with("fc") =>
        {
            Kind::Linear
        }
        w if w.starts_with("conv") => Kind::Conv,
        _ => Kind::Unknown,
    }
}

fn by_word(word: &str) -> Option<Kind> {
    WORDS
        .iter()
        .find(|(words, _)| words.contains(&word))
        .map(|(_, kind)| *kind)
}

/// Whether a module of this kind can pass on the value of the one before
/// it (the same tensor as the key before it).
pub fn aliases(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Identity | Kind::Container | Kind::Block | Kind::Activation(_) | Kind::Layout
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_modules_are() {
        assert_eq!(kind_of("layer1.0.bn1", false), Kind::BatchNorm);
        assert_eq!(kind_of("layers.0.norm2", false), Kind::Norm);
        assert_eq!(
            kind_of("features.relu6", false),
            Kind::Activation(Activation::Relu6)
        );
        assert_eq!(
            kind_of("layer1.0.add_relu", false),
            Kind::Add { relu: true }
        );
        assert_eq!(kind_of("avgpool", false), Kind::AvgPool);
        assert_eq!(kind_of("layers.0.self_attn.q_proj", false), Kind::Linear);
        assert_eq!(kind_of("layer1.0", true), Kind::Block);
        assert_eq!(kind_of("layers.0.self_attn", true), Kind::Container);
        assert_eq!(kind_of("layer2.0.downsample.1", false), Kind::Unknown);
        assert_eq!(
            kind_of("features.3.squeeze_activation", false),
            Kind::Activation(Activation::Any)
        );
        assert_eq!(
            kind_of("features.1.block.1.scale_activation", false),
            Kind::Activation(Activation::Any)
        );
        assert_eq!(
            kind_of("features.2.1.stochastic_depth", false),
            Kind::Identity
        );
        assert_eq!(kind_of("up3.up", false), Kind::Resize);
        assert_eq!(kind_of("pixel_shuffle", false), Kind::Shuffle);
        assert_eq!(kind_of("blocks.0.attn.attn_drop", false), Kind::Identity);
        assert_eq!(kind_of("features.denseblock1", true), Kind::Block);
        assert_eq!(kind_of("encoder.layers.0.ln_1", false), Kind::LayerNorm);
        assert_eq!(kind_of("stem.gn", false), Kind::LayerNorm);
        assert_eq!(
            kind_of("encoder.layers.0.self_attention", false),
            Kind::Attention
        );
    }
}
