//! How long an uploaded file is kept: `1h`, `1d`, `7d`, `30d` or `unlimited`.

use crate::files::v1::Duration as ProtoDuration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileDuration {
    OneHour,
    OneDay,
    SevenDays,
    ThirtyDays,
    Unlimited,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duration must be one of 1h, 1d, 7d, 30d, unlimited")]
pub struct InvalidDuration;

impl FileDuration {
    pub const ALL: [FileDuration; 5] = [
        FileDuration::OneHour,
        FileDuration::OneDay,
        FileDuration::SevenDays,
        FileDuration::ThirtyDays,
        FileDuration::Unlimited,
    ];

    pub fn parse(text: &str) -> Result<Self, InvalidDuration> {
        Self::ALL
            .into_iter()
            .find(|duration| duration.as_str() == text.trim())
            .ok_or(InvalidDuration)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileDuration::OneHour => "1h",
            FileDuration::OneDay => "1d",
            FileDuration::SevenDays => "7d",
            FileDuration::ThirtyDays => "30d",
            FileDuration::Unlimited => "unlimited",
        }
    }

    /// The lifetime in seconds; `None` for unlimited.
    pub fn seconds(self) -> Option<i64> {
        match self {
            FileDuration::OneHour => Some(3_600),
            FileDuration::OneDay => Some(86_400),
            FileDuration::SevenDays => Some(7 * 86_400),
            FileDuration::ThirtyDays => Some(30 * 86_400),
            FileDuration::Unlimited => None,
        }
    }

    pub fn to_proto(self) -> ProtoDuration {
        match self {
            FileDuration::OneHour => ProtoDuration::OneHour,
            FileDuration::OneDay => ProtoDuration::OneDay,
            FileDuration::SevenDays => ProtoDuration::SevenDays,
            FileDuration::ThirtyDays => ProtoDuration::ThirtyDays,
            FileDuration::Unlimited => ProtoDuration::Unlimited,
        }
    }

    /// `None` for an unspecified or unknown value.
    pub fn from_proto(value: i32) -> Option<Self> {
        match ProtoDuration::try_from(value).ok()? {
            ProtoDuration::Unspecified => None,
            ProtoDuration::OneHour => Some(FileDuration::OneHour),
            ProtoDuration::OneDay => Some(FileDuration::OneDay),
            ProtoDuration::SevenDays => Some(FileDuration::SevenDays),
            ProtoDuration::ThirtyDays => Some(FileDuration::ThirtyDays),
            ProtoDuration::Unlimited => Some(FileDuration::Unlimited),
        }
    }
}

impl std::str::FromStr for FileDuration {
    type Err = InvalidDuration;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl std::fmt::Display for FileDuration {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_round_trips_through_text_and_proto() {
        for duration in FileDuration::ALL {
            assert_eq!(FileDuration::parse(duration.as_str()), Ok(duration));
            assert_eq!(
                FileDuration::from_proto(duration.to_proto() as i32),
                Some(duration)
            );
        }
    }

    #[test]
    fn unknown_durations_are_refused() {
        for text in ["", "2h", "7D", "forever", "-1d"] {
            assert_eq!(FileDuration::parse(text), Err(InvalidDuration), "{text}");
        }
        assert_eq!(FileDuration::from_proto(0), None);
        assert_eq!(FileDuration::from_proto(99), None);
    }
}
