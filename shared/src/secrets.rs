//! Sealing of account credentials at rest (AES-256-GCM under a key from configuration, which
//! in AWS comes from Secrets Manager). The table never holds an app secret in clear.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use std::fmt;
use std::sync::Arc;

const NONCE_LEN: usize = 12;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The configured key is not 32 bytes of base64.
    #[error("secrets key must be 32 bytes, base64-encoded")]
    BadKey,
    /// The sealed value was not produced by this key (or was altered).
    #[error("sealed secret cannot be opened with the configured key")]
    CannotOpen,
}

/// Seals and opens small secrets. Cheap to clone; its `Debug` shows nothing.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Arc<Aes256Gcm>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox { .. }")
    }
}

impl SecretBox {
    /// A box from a base64-encoded 32-byte key.
    pub fn from_base64(key: &str) -> Result<Self, SecretsError> {
        let bytes = STANDARD
            .decode(key.trim())
            .map_err(|_| SecretsError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| SecretsError::BadKey)?;
        Ok(Self {
            cipher: Arc::new(cipher),
        })
    }

    /// A fresh random key, base64-encoded (for local stacks and tests).
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// Seals `plaintext`: base64(nonce | ciphertext+tag).
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, SecretsError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .map_err(|_| SecretsError::CannotOpen)?;
        let mut out = nonce.to_vec();
        out.extend(ciphertext);
        Ok(STANDARD.encode(out))
    }

    /// Opens what [`SecretBox::seal`] produced.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SecretsError> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| SecretsError::CannotOpen)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretsError::CannotOpen);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretsError::CannotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let b = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let sealed = b.seal(b"app-secret").unwrap();
        assert!(!sealed.contains("app-secret"));
        assert_eq!(b.open(&sealed).unwrap(), b"app-secret");
        let other = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        assert!(other.open(&sealed).is_err());
        assert!(b.open("short").is_err());
        assert!(SecretBox::from_base64("dG9vIHNob3J0").is_err());
    }
}
