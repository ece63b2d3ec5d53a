//! Fault injection per endpoint: added latency, a random error rate, an exact sequence of
//! errcodes consumed one per call (0 = answer normally), e.g. `[40001, -1, 0]`, or late
//! answers: the call is served (a message is sent) and only then the answer is held back, as
//! when WeChat did the work but the caller timed out.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Endpoint name that matches every endpoint.
pub const ANY_ENDPOINT: &str = "*";

/// A fault to inject on one endpoint (or [`ANY_ENDPOINT`]). Fields that are set replace the
/// endpoint's current setting of that kind; the others are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Endpoint path, e.g. `/cgi-bin/message/template/send`, or `*`.
    pub endpoint: String,
    /// Delay before answering, in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Errcodes to answer with, one per call, before normal service resumes; 0 = normal call.
    #[serde(default)]
    pub errcodes: Vec<i64>,
    /// Errcode answered at random with probability `rate` once the sequence is used up.
    #[serde(default)]
    pub errcode: Option<i64>,
    /// Probability (0..=1) of answering `errcode`.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Hold the answer back this long after the call was served, in milliseconds.
    #[serde(default)]
    pub late_answer_ms: Option<u64>,
    /// Probability (0..=1) that a call's answer is late (default 1).
    #[serde(default)]
    pub late_rate: Option<f64>,
}

impl Fault {
    /// Delays every answer of `endpoint`.
    pub fn latency(endpoint: impl Into<String>, delay: Duration) -> Self {
        Self {
            endpoint: endpoint.into(),
            latency_ms: Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
            ..Self::default()
        }
    }

    /// Answers the next calls of `endpoint` with `codes` in order (0 = normal answer).
    pub fn sequence(endpoint: impl Into<String>, codes: impl IntoIterator<Item = i64>) -> Self {
        Self {
            endpoint: endpoint.into(),
            errcodes: codes.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Answers `errcode` on a random `rate` (0..=1) of the calls of `endpoint`.
    pub fn rate(endpoint: impl Into<String>, errcode: i64, rate: f64) -> Self {
        Self {
            endpoint: endpoint.into(),
            errcode: Some(errcode),
            rate: Some(rate),
            ..Self::default()
        }
    }

    /// Answers `errcode` on every call of `endpoint` until cleared.
    pub fn always(endpoint: impl Into<String>, errcode: i64) -> Self {
        Self::rate(endpoint, errcode, 1.0)
    }

    /// Serves a random `rate` (0..=1) of the calls of `endpoint`, then holds their answer back
    /// for `delay`.
    pub fn late_answers(endpoint: impl Into<String>, delay: Duration, rate: f64) -> Self {
        Self {
            endpoint: endpoint.into(),
            late_answer_ms: Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
            late_rate: Some(rate),
            ..Self::default()
        }
    }

    /// Adds a delay to this fault.
    pub fn with_latency(mut self, delay: Duration) -> Self {
        self.latency_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }
}

/// Current fault settings of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultState {
    /// Delay in milliseconds.
    pub latency_ms: u64,
    /// Errcodes still to answer, in order.
    pub sequence: VecDeque<i64>,
    /// Random errcode and its probability.
    pub rate: Option<(i64, f64)>,
    /// Late answers: delay in milliseconds after serving, and probability.
    #[serde(default)]
    pub late: Option<(u64, f64)>,
}

/// What to do with one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Sleep this long first.
    pub latency: Duration,
    /// Answer this errcode instead of serving the call.
    pub errcode: Option<i64>,
}

/// Fault settings of every endpoint.
#[derive(Debug, Default)]
pub struct Faults {
    by_endpoint: BTreeMap<String, FaultState>,
}

impl Faults {
    /// Merges `fault` into its endpoint's settings.
    pub fn inject(&mut self, fault: &Fault) {
        let state = self.by_endpoint.entry(fault.endpoint.clone()).or_default();
        if let Some(ms) = fault.latency_ms {
            state.latency_ms = ms;
        }
        if !fault.errcodes.is_empty() {
            state.sequence = fault.errcodes.iter().copied().collect();
        }
        let rate = fault.rate.map(probability);
        if let Some(ms) = fault.late_answer_ms {
            let rate = fault.late_rate.map_or(1.0, probability);
            state.late = (ms > 0 && rate > 0.0).then_some((ms, rate));
        }
        match (fault.errcode, rate) {
            (Some(code), Some(rate)) => state.rate = Some((code, rate)),
            (Some(code), None) => state.rate = Some((code, 1.0)),
            (None, Some(rate)) if rate <= 0.0 => state.rate = None,
            _ => {}
        }
    }

    /// How long to hold back the answer of a served call of `endpoint` (zero: answer now).
    pub fn late_answer(&self, endpoint: &str, rng: &mut impl Rng) -> Duration {
        [endpoint, ANY_ENDPOINT]
            .iter()
            .filter_map(|key| self.by_endpoint.get(*key)?.late)
            .filter(|(_, rate)| rng.random_bool(*rate))
            .map(|(ms, _)| Duration::from_millis(ms))
            .max()
            .unwrap_or_default()
    }

    /// Removes the faults of `endpoint`.
    pub fn clear(&mut self, endpoint: &str) {
        self.by_endpoint.remove(endpoint);
    }

    /// Removes every fault.
    pub fn clear_all(&mut self) {
        self.by_endpoint.clear();
    }

    /// Current settings.
    pub fn all(&self) -> BTreeMap<String, FaultState> {
        self.by_endpoint.clone()
    }

    /// Decides the fate of one call of `endpoint`, consuming a sequence entry if any. The
    /// endpoint's own settings win over `*`.
    pub fn decide(&mut self, endpoint: &str, rng: &mut impl Rng) -> Decision {
        let mut latency = 0;
        let mut errcode = None;
        for key in [endpoint, ANY_ENDPOINT] {
            let Some(state) = self.by_endpoint.get_mut(key) else {
                continue;
            };
            latency = latency.max(state.latency_ms);
            if errcode.is_some() {
                continue;
            }
            if let Some(code) = state.sequence.pop_front() {
                errcode = Some(code);
            } else if let Some((code, rate)) = state.rate
                && rng.random_bool(rate)
            {
                errcode = Some(code);
            }
        }
        Decision {
            latency: Duration::from_millis(latency),
            errcode: errcode.filter(|c| *c != 0),
        }
    }
}

/// A NaN or out-of-range rate must not reach `random_bool`, which would panic.
fn probability(rate: f64) -> f64 {
    if rate.is_finite() {
        rate.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn late_answers_follow_their_rate_and_clear() {
        let mut f = Faults::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let late = Duration::from_millis(1500);
        f.inject(&Fault::late_answers("/a", late, 0.25));
        let held = (0..4000)
            .filter(|_| f.late_answer("/a", &mut rng) == late)
            .count();
        assert!((800..1200).contains(&held), "{held}");
        assert_eq!(f.late_answer("/b", &mut rng), Duration::ZERO);
        f.inject(&Fault {
            endpoint: "/a".into(),
            late_answer_ms: Some(0),
            ..Fault::default()
        });
        assert_eq!(f.late_answer("/a", &mut rng), Duration::ZERO);
    }

    #[test]
    fn sequence_then_normal() {
        let mut f = Faults::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        f.inject(&Fault::sequence("/a", [40001, -1, 0]));
        let codes: Vec<_> = (0..4).map(|_| f.decide("/a", &mut rng).errcode).collect();
        assert_eq!(codes, vec![Some(40001), Some(-1), None, None]);
        assert_eq!(f.decide("/b", &mut rng).errcode, None);
    }

    #[test]
    fn rate_is_roughly_honoured() {
        let mut f = Faults::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        f.inject(&Fault::rate("/a", -1, 0.1));
        let hits = (0..10_000)
            .filter(|_| f.decide("/a", &mut rng).errcode == Some(-1))
            .count();
        assert!((800..1200).contains(&hits), "{hits}");
        f.inject(&Fault {
            endpoint: "/a".into(),
            rate: Some(0.0),
            ..Fault::default()
        });
        assert_eq!(f.decide("/a", &mut rng).errcode, None);
    }

    #[test]
    fn wildcard_latency_and_specific_error() {
        let mut f = Faults::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        f.inject(&Fault::latency(ANY_ENDPOINT, Duration::from_millis(5)));
        f.inject(&Fault::always("/a", 45009));
        let d = f.decide("/a", &mut rng);
        assert_eq!(
            d,
            Decision {
                latency: Duration::from_millis(5),
                errcode: Some(45009)
            }
        );
        f.clear_all();
        assert_eq!(f.decide("/a", &mut rng).latency, Duration::ZERO);
    }
}
