//! The hello message every Sentinel publishes on `__sentinel__:hello`
//! through each monitored instance, every 2 seconds: eight fields joined
//! by commas, the Sentinel's address, id and current epoch, then the master
//! as that Sentinel sees it (name, address, config epoch). Other Sentinels
//! learn of each other, and of a newer master configuration, from it.

use crate::atoi;

/// The channel hellos go through.
pub const CHANNEL: &str = "__sentinel__:hello";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub ip: String,
    pub port: u16,
    pub runid: String,
    pub current_epoch: u64,
    pub master_name: String,
    pub master_ip: String,
    pub master_port: u16,
    pub master_config_epoch: u64,
}

impl Hello {
    /// The message as Sentinels write it.
    pub fn encode(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}",
            self.ip,
            self.port,
            self.runid,
            self.current_epoch,
            self.master_name,
            self.master_ip,
            self.master_port,
            self.master_config_epoch
        )
    }

    /// A received message; `None` unless it has exactly eight fields (what
    /// Redis ignores). Numbers are read as C's `atoi`/`strtoull` read them.
    pub fn decode(message: &[u8]) -> Option<Hello> {
        let text = std::str::from_utf8(message).ok()?;
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() != 8 {
            return None;
        }
        let port = |s: &str| u16::try_from(atoi(s)).ok();
        Some(Hello {
            ip: fields[0].to_string(),
            port: port(fields[1])?,
            runid: fields[2].to_string(),
            current_epoch: epoch(fields[3]),
            master_name: fields[4].to_string(),
            master_ip: fields[5].to_string(),
            master_port: port(fields[6])?,
            master_config_epoch: epoch(fields[7]),
        })
    }
}

/// `strtoull(text, NULL, 10)`.
fn epoch(text: &str) -> u64 {
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits
        .parse()
        .unwrap_or(if digits.is_empty() { 0 } else { u64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let h = Hello {
            ip: "127.0.0.1".into(),
            port: 26379,
            runid: "a".repeat(40),
            current_epoch: 3,
            master_name: "mymaster".into(),
            master_ip: "127.0.0.1".into(),
            master_port: 6379,
            master_config_epoch: 2,
        };
        let text = h.encode();
        assert_eq!(
            text,
            format!(
                "127.0.0.1,26379,{},3,mymaster,127.0.0.1,6379,2",
                "a".repeat(40)
            )
        );
        assert_eq!(Hello::decode(text.as_bytes()), Some(h));
        assert_eq!(Hello::decode(b"1,2,3"), None);
        assert_eq!(Hello::decode(b"a,b,c,d,e,f,g,h,i"), None);
        assert_eq!(Hello::decode(b"ip,99999,id,0,m,ip,1,0"), None);
    }
}
