use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{Mail, Mailer};
use crate::{Error, Result};

/// Prints every mail to standard error: how a developer reads the OTP in the local run.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConsoleMailer;

#[async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, mail: &Mail) -> Result<()> {
        eprintln!(
            "\n----- mail to {} -----\nSubject: {}\n\n{}\n-----------------------\n",
            mail.to.as_str(),
            mail.subject,
            mail.text
        );
        Ok(())
    }
}

/// Keeps every mail in memory so that tests can read the codes sent.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<Mail>>,
}

impl RecordingMailer {
    /// Every mail sent so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The mails sent to `address`, oldest first.
    pub fn sent_to(&self, address: &str) -> Vec<Mail> {
        self.sent()
            .into_iter()
            .filter(|m| m.to.as_str() == address)
            .collect()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &Mail) -> Result<()> {
        self.sent
            .lock()
            .map_err(|_| Error::internal("mailer lock poisoned"))?
            .push(mail.clone());
        Ok(())
    }
}
