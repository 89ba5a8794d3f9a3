//! Which vectorised paths may run: the one place that asks the processor.
//!
//! The binary targets x86-64-v2 (SSE4.2, POPCNT: every x86-64 machine in
//! use has them), so the AVX2 and AVX-512 paths can only be reached through
//! run-time detection. Every call site that picks a path (the block
//! classifier, the index scanner, the batch number readers, the eight-lane
//! readers) asks here, so that:
//!
//! - the processor is asked once per process ([`detected`], cached);
//! - one switch caps every path at once, so that the AVX2 and baseline paths
//!   can be tested and measured on a machine that has AVX-512;
//! - what ran can be told: `rayproc --version` prints the level
//!   ([`version`]), for benchmark records.
//!
//! # Levels
//!
//! From lowest to highest ([`Level`]):
//!
//! | level | what runs |
//! | --- | --- |
//! | `none` | no explicit SIMD: the portable block classifier (plain Rust the compiler vectorises with the target's own vectors; what a build for an architecture other than x86-64 and aarch64 runs) called by the index loop once per block (the compiler keeps it out of line; inlining it measured no faster), and the scalar number readers |
//! | `sse` (named `neon` on aarch64) | the target's baseline vectors: on x86-64 the SSE2 block classifier, on aarch64 the NEON one, inlined into the index loop; the scalar number readers |
//! | `avx2` | the AVX2 block classifier; with BMI1, BMI2 and LZCNT the index loop compiled for them with that classifier inlined; with FMA too the batch number loop compiled for AVX2 and the four-lane float reader |
//! | `avx512` | the AVX-512 BW classifier; with VBMI2 (and BMI1, LZCNT) the index scanner's byte compress; with F, BW, VL, DQ, BMI1, BMI2, LZCNT the batch number loop compiled for AVX-512; with CD too the eight-lane readers (without the AVX-512 number loop's features, the `avx2` one) |
//!
//! A level only allows a path: each path still needs its own instructions,
//! which [`Features`] answers for (an AVX-512 machine without VBMI2 runs the
//! AVX-512 classifier and indexes without the compress). A [`Features`] is
//! only made by asking the processor and by capping (which only clears), so
//! a `true` from it is the whole safety argument of the `unsafe` call to the
//! path it names. What the compiler emits for the target itself (SSE4.2,
//! POPCNT, prefetches, streaming stores) runs at every level, and so does
//! the run-time detection of dependencies (`memchr`'s AVX2 searches in the
//! scalar scanner and the splitter): a level selects rayproc's paths, it
//! does not recompile them.
//!
//! # Environment
//!
//! - `RAYPROC_SIMD=avx512|avx2|sse|none` caps the level: the paths that run
//!   are those of the lower of the cap and what the processor has. ASCII
//!   case is ignored; an empty value is no cap. Any other value is refused
//!   at start-up ([`check_env`], called once the arguments are parsed: a
//!   usage error, exit 2, naming the accepted values; `--help` is still
//!   printed, so that it is at hand to mend the value) rather than silently
//!   ignored, since a benchmark that meant to cap and did not would record
//!   the wrong path.
//!   (A library caller that skips the check gets the `none` paths for such
//!   a value: the slowest, never a wrong one.)
//! - `RAYPROC_NO_SIMD` (set to anything) is the older switch: the same as
//!   `RAYPROC_SIMD=sse`, the baseline the binary's target guarantees. With
//!   both set, the lower cap wins.
//!
//! Every path gives the same output bytes (tested in `tests/simd_paths.rs`
//! and by the per-path differential tests next to each path).

use std::ffi::OsStr;
use std::sync::OnceLock;

/// How far up the vectorised paths may go, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No explicit SIMD code.
    None,
    /// The target's baseline vectors: SSE2 on x86-64, NEON on aarch64
    /// (named [`BASELINE`] there).
    Sse,
    /// AVX2.
    Avx2,
    /// AVX-512.
    Avx512,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 4] = [Level::None, Level::Sse, Level::Avx2, Level::Avx512];

    /// The name `RAYPROC_SIMD` and `--version` use.
    pub fn name(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Sse => BASELINE,
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// The level named `name` (ASCII case ignored).
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name))
    }
}

/// The name of [`Level::Sse`]: the vectors every processor of the target
/// has, which are SSE2 on x86-64 and NEON (Advanced SIMD) on aarch64.
pub const BASELINE: &str = if cfg!(target_arch = "aarch64") {
    "neon"
} else {
    "sse"
};

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The instructions the vectorised paths need, as far as they may be used:
/// what the processor has, less what a cap forbids. Each method answers for
/// one path and checks every feature its `#[target_feature]` list enables,
/// so that a `true` is the whole safety argument for calling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    level: Level,
    /// AVX-512 VBMI2, BMI1 and LZCNT, besides BW (the index compress).
    vbmi2: bool,
    /// AVX-512 F, VL and DQ, BMI1, BMI2 and LZCNT, besides BW (the batch
    /// number loop).
    numbers: bool,
    /// AVX-512 F, DQ and CD (the eight-lane readers).
    lanes: bool,
    /// BMI1, BMI2 and LZCNT, besides AVX2 (the index loop and, with FMA,
    /// the batch number loop compiled for AVX2).
    avx2_bmi: bool,
    /// FMA, besides AVX2 and BMI (the batch number loop compiled for AVX2).
    fma: bool,
}

impl Features {
    /// No vectorised path at all (the `none` level).
    pub const NONE: Features = Features {
        level: Level::None,
        vbmi2: false,
        numbers: false,
        lanes: false,
        avx2_bmi: false,
        fma: false,
    };

    /// Asks the processor (not cached: see [`detected`]).
    fn detect() -> Features {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let level = if has!("avx512f") && has!("avx512bw") && has!("avx2") {
                Level::Avx512
            } else if has!("avx2") {
                Level::Avx2
            } else {
                // SSE2 is part of x86-64 itself
                Level::Sse
            };
            let avx512 = level == Level::Avx512;
            let bmi = has!("bmi1") && has!("bmi2") && has!("lzcnt");
            Features {
                level,
                vbmi2: avx512 && has!("avx512vbmi2") && has!("bmi1") && has!("lzcnt"),
                numbers: avx512 && has!("avx512vl") && has!("avx512dq") && bmi,
                lanes: avx512 && has!("avx512dq") && has!("avx512cd"),
                avx2_bmi: level >= Level::Avx2 && bmi,
                fma: level >= Level::Avx2 && has!("fma"),
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            // NEON is part of aarch64 itself, as SSE2 is of x86-64
            Features {
                level: Level::Sse,
                ..Features::NONE
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        Features::NONE
    }

    /// These features less everything above `cap`.
    pub fn capped(self, cap: Level) -> Features {
        if cap >= self.level {
            return self;
        }
        if cap == Level::Avx2 {
            // the AVX2 paths stay; the AVX-512 ones go
            return Features {
                level: cap,
                avx2_bmi: self.avx2_bmi,
                fma: self.fma,
                ..Features::NONE
            };
        }
        Features {
            level: cap,
            ..Features::NONE
        }
    }

    /// The highest level allowed.
    pub fn level(self) -> Level {
        self.level
    }

    /// SSE2 (the x86-64 baseline), unless capped at `none`.
    pub fn sse2(self) -> bool {
        cfg!(target_arch = "x86_64") && self.level >= Level::Sse
    }

    /// NEON (the aarch64 baseline), unless capped at `none`.
    pub fn neon(self) -> bool {
        cfg!(target_arch = "aarch64") && self.level >= Level::Sse
    }

    /// AVX2.
    pub fn avx2(self) -> bool {
        self.level >= Level::Avx2
    }

    /// AVX-512 F and BW (and AVX2).
    pub fn avx512bw(self) -> bool {
        self.level >= Level::Avx512
    }

    /// AVX-512 BW and VBMI2, BMI1 and LZCNT: the index scanner's byte
    /// compress and its block loop (`source::indexscan`).
    pub fn avx512_vbmi2(self) -> bool {
        self.avx512bw() && self.vbmi2
    }

    /// AVX-512 F, BW, VL and DQ, BMI1, BMI2 and LZCNT: the batch number loop
    /// compiled for AVX-512 (`number::batch`).
    pub fn avx512_numbers(self) -> bool {
        self.avx512bw() && self.numbers
    }

    /// AVX-512 F, DQ and CD: the eight-lane readers (`number::x8`).
    pub fn avx512_lanes(self) -> bool {
        self.avx512bw() && self.lanes
    }

    /// AVX2, BMI1, BMI2 and LZCNT: the index scanner's block loop compiled
    /// for AVX2 (`source::indexscan`).
    pub fn avx2_bmi(self) -> bool {
        self.avx2() && self.avx2_bmi
    }

    /// AVX2, BMI1, BMI2, LZCNT and FMA: the batch number loop compiled for
    /// AVX2 (`number::batch`).
    pub fn avx2_numbers(self) -> bool {
        self.avx2_bmi() && self.fma
    }
}

/// What the processor has, asked once per process; no cap applied.
pub fn detected() -> Features {
    static DETECTED: OnceLock<Features> = OnceLock::new();
    *DETECTED.get_or_init(Features::detect)
}

/// What the paths of this process may use: [`detected`] capped by the
/// environment (see the module documentation), decided once.
#[inline]
pub fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    *FEATURES.get_or_init(|| detected().capped(env_cap().unwrap_or(Level::None)))
}

/// The highest level this process runs ([`features`]).
pub fn level() -> Level {
    features().level()
}

/// The cap the environment asks for, or the message refusing it.
fn env_cap() -> Result<Level, String> {
    cap_from(
        std::env::var_os("RAYPROC_SIMD").as_deref(),
        std::env::var_os("RAYPROC_NO_SIMD").is_some(),
    )
}

/// The cap for a `RAYPROC_SIMD` value and whether `RAYPROC_NO_SIMD` is
/// set: the lower of the two; no cap (`avx512`) when neither asks for one.
pub fn cap_from(simd: Option<&OsStr>, no_simd: bool) -> Result<Level, String> {
    let cap = match simd {
        None => Level::Avx512,
        Some(v) if v.is_empty() => Level::Avx512,
        Some(v) => v.to_str().and_then(Level::parse).ok_or_else(|| {
            let names: Vec<&str> = Level::ALL.iter().rev().map(|l| l.name()).collect();
            format!(
                "RAYPROC_SIMD={}: unknown value; expected one of {} (or unset)",
                crate::error::show_name(v.as_encoded_bytes()),
                names.join(", ")
            )
        })?,
    };
    Ok(if no_simd { cap.min(Level::Sse) } else { cap })
}

/// Refuses an unknown `RAYPROC_SIMD` value: a usage error (exit 2).
/// [`crate::cli::main_with_args`] calls it once the arguments are parsed,
/// before any command runs.
pub fn check_env() -> crate::error::Result<()> {
    env_cap().map(|_| ()).map_err(crate::error::Error::Usage)
}

/// The version `rayproc --version` prints after the name: the package
/// version and the level this process runs, e.g. `0.1.0 (simd: avx512)`.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| format!("{} (simd: {})", env!("CARGO_PKG_VERSION"), level()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        for l in Level::ALL {
            assert_eq!(Level::parse(l.name()), Some(l));
            assert_eq!(Level::parse(&l.name().to_uppercase()), Some(l));
        }
        assert!(Level::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Level::parse("avx-512"), None);
        assert_eq!(Level::parse(""), None);
    }

    #[test]
    fn the_environment_caps() {
        let os = |s: &str| Some(OsStr::new(s).to_owned());
        let cap = |simd: Option<std::ffi::OsString>, no| cap_from(simd.as_deref(), no);
        assert_eq!(cap(None, false), Ok(Level::Avx512));
        assert_eq!(cap(os(""), false), Ok(Level::Avx512));
        assert_eq!(cap(None, true), Ok(Level::Sse));
        for l in Level::ALL {
            assert_eq!(cap(os(l.name()), false), Ok(l));
            // the older switch caps at the baseline; the lower cap wins
            assert_eq!(cap(os(l.name()), true), Ok(l.min(Level::Sse)));
        }
        assert_eq!(cap(os("AVX2"), false), Ok(Level::Avx2));
        let err = cap(os("avx3"), false).unwrap_err();
        assert!(
            err.contains("RAYPROC_SIMD=avx3")
                && err.contains(&format!("avx512, avx2, {BASELINE}, none")),
            "{err}"
        );
        // refused whatever RAYPROC_NO_SIMD says
        assert!(cap(os("fast"), true).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            assert!(cap_from(Some(OsStr::from_bytes(b"avx\xff")), false).is_err());
        }
    }

    #[test]
    fn a_cap_takes_the_lower_level_and_clears_the_paths_above_it() {
        let full = detected();
        for cap in Level::ALL {
            let f = full.capped(cap);
            assert_eq!(f.level(), cap.min(full.level()), "cap {cap}");
            let baseline = f.level() >= Level::Sse;
            assert_eq!(f.sse2(), baseline && cfg!(target_arch = "x86_64"));
            assert_eq!(f.neon(), baseline && cfg!(target_arch = "aarch64"));
            assert_eq!(f.avx2(), f.level() >= Level::Avx2);
            let avx512 = f.level() == Level::Avx512;
            assert_eq!(f.avx512bw(), avx512);
            assert_eq!(f.avx512_vbmi2(), avx512 && full.avx512_vbmi2());
            assert_eq!(f.avx512_numbers(), avx512 && full.avx512_numbers());
            assert_eq!(f.avx512_lanes(), avx512 && full.avx512_lanes());
            // the AVX2 paths stay at `avx2` and above
            let avx2 = f.level() >= Level::Avx2;
            assert_eq!(f.avx2_bmi(), avx2 && full.avx2_bmi());
            assert_eq!(f.avx2_numbers(), avx2 && full.avx2_numbers());
            // capping twice is capping once, at the lower cap
            for other in Level::ALL {
                assert_eq!(f.capped(other), full.capped(cap.min(other)));
            }
        }
        assert_eq!(full.capped(Level::None), Features::NONE);
    }

    /// Every aarch64 processor has NEON, and nothing else is detected there.
    #[cfg(target_arch = "aarch64")]
    #[test]
    fn detection_on_aarch64_is_the_baseline() {
        let f = detected();
        assert_eq!(f.level(), Level::Sse);
        assert!(f.neon() && !f.sse2() && !f.avx2());
        assert_eq!(Level::Sse.name(), "neon");
        assert_eq!(Level::parse("NEON"), Some(Level::Sse));
    }

    /// What the detection finds agrees with the processor's own answer.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn detection_agrees_with_the_processor() {
        use std::arch::is_x86_feature_detected as has;
        let f = detected();
        assert!(f.sse2());
        assert_eq!(f.avx2(), has!("avx2"));
        assert_eq!(f.avx512bw(), has!("avx512f") && has!("avx512bw"));
        if f.avx512_lanes() {
            assert!(has!("avx512dq") && has!("avx512cd"));
        }
        if f.avx512_vbmi2() {
            assert!(has!("avx512vbmi2"));
        }
        assert_eq!(
            f.avx2_bmi(),
            has!("avx2") && has!("bmi1") && has!("bmi2") && has!("lzcnt")
        );
        assert_eq!(f.avx2_numbers(), f.avx2_bmi() && has!("fma"));
    }
}
