//! `twostep clients add|list|remove`: the applications that sign their
//! users in with twostep (OpenID Connect). A client secret and a webhook
//! secret are printed once, at registration, and never again.

use anyhow::{Result, anyhow};
use clap::Subcommand;
use twostep_app::App;
use twostep_app::oidc::clients::NewClient;

use crate::config::ServeArgs;

#[derive(Subcommand, Debug)]
pub enum ClientsCommand {
    /// Register an application. Prints its client secret (unless --public) once.
    Add {
        /// The client id the application will send (letters, digits, '-', '_', '.').
        #[arg(long)]
        id: String,
        /// The name shown on the sign-in and consent pages.
        #[arg(long)]
        name: String,
        /// Where the application receives the code; exact, repeatable. HTTPS, or HTTP to localhost.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where the application may send people after signing out; exact, repeatable.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A browser or mobile application: no secret; it must use PKCE (S256).
        #[arg(long)]
        public: bool,
        /// Your own application: no consent page.
        #[arg(long)]
        first_party: bool,
        /// Where back-channel logout tokens are posted when a session ends.
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// Where signed security events are posted (Standard Webhooks); prints the signing secret once.
        #[arg(long)]
        webhook_url: Option<String>,
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
    /// List the registered applications.
    List {
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
    /// Remove an application with every grant, token and consent it holds.
    Remove {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
}

impl ClientsCommand {
    pub fn settings(&self) -> &ServeArgs {
        match self {
            ClientsCommand::Add { settings, .. }
            | ClientsCommand::List { settings }
            | ClientsCommand::Remove { settings, .. } => settings,
        }
    }
}

pub async fn run(app: &App, command: ClientsCommand) -> Result<()> {
    match command {
        ClientsCommand::Add {
            id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            first_party,
            backchannel_logout_uri,
            webhook_url,
            settings: _,
        } => {
            let new = NewClient {
                id: id.clone(),
                name,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                first_party,
                backchannel_logout_uri,
                webhook_url,
            };
            let created = app.add_client(&new).await.map_err(|e| anyhow!("{e}"))?;
            println!("client_id: {id}");
            match created.client_secret {
                Some(secret) => println!("client_secret: {secret}"),
                None => println!("public client: no secret; it must use PKCE (S256)"),
            }
            if let Some(secret) = created.webhook_secret {
                println!("webhook_secret: {secret}");
            }
            println!("issuer: {}", app.issuer());
            Ok(())
        }
        ClientsCommand::List { .. } => {
            for c in app.clients().await.map_err(|e| anyhow!("{e}"))? {
                let kind = if c.secret_hash.is_some() { "confidential" } else { "public" };
                let party = if c.first_party { "first-party" } else { "third-party" };
                println!("{}\t{}\t{kind}\t{party}\t{}", c.id, c.name, c.redirect_uris.join(" "));
            }
            Ok(())
        }
        ClientsCommand::Remove { id, .. } => {
            app.remove_client(&id).await.map_err(|e| anyhow!("{id}: {e}"))?;
            println!("application {id} removed");
            Ok(())
        }
    }
}
