//! Mail over SMTP, for deployments without SES: `SMTP_URL` as lettre reads
//! it (`smtp://host:25`, `smtp://user:pass@host:587?tls=required` for
//! STARTTLS, `smtps://user:pass@host:465`), `MAIL_FROM` as the sender.

use async_trait::async_trait;
use chat_core::ports::{Mail, Mailer};
use chat_core::{Error, Result};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends each mail (text and HTML) through one SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `url`, sending as `from`.
    pub fn new(url: &str, from: &str) -> Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| Error::internal_from("SMTP_URL is not a valid SMTP URL", e))?
            .build();
        let from = from
            .parse()
            .map_err(|e| Error::internal_from(format!("MAIL_FROM {from:?}"), e))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<()> {
        let to: Mailbox = mail
            .to
            .as_str()
            .parse()
            .map_err(|e| Error::internal_from("recipient address", e))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| Error::internal_from("building the mail", e))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Error::unavailable_from("sending mail over SMTP", e))
    }
}
