# The security centre: freezing an account, the anti-phishing phrase and the
# reset of a forgotten password.

audit-freeze-code-sent = Code sent to freeze the account
audit-freeze-refused = Freeze refused: a link that is not ours
audit-password-reset-requested = Password reset asked for
audit-password-reset-started = Password reset code accepted
audit-password-reset-failed = Password reset: wrong second-factor code
audit-password-reset = Password reset
audit-anti-phishing-set = Anti-phishing phrase set
audit-anti-phishing-removed = Anti-phishing phrase removed

mail-freeze-footer = Not you, or is your phone lost or stolen? Freeze your account in one click: { $link }
mail-anti-phishing-line = Your { $app } anti-phishing phrase: { $phrase }
mail-frozen-by-owner-subject = Your account is frozen
mail-frozen-by-owner-body = Your { $app } account is frozen: nobody can sign in or withdraw, every session was ended and every recovery under way was stopped. To unfreeze it, choose "Forgot your password?" on the sign-in page and then "Security check not available", or contact our staff.
mail-anti-phishing-subject = Your anti-phishing phrase changed
mail-anti-phishing-set-body = Your { $app } anti-phishing phrase was set. From now on every e-mail from us shows it on its first line: an e-mail without it is not from us. If you did not do this, freeze your account with the link below.
mail-anti-phishing-removed-body = Your { $app } anti-phishing phrase was removed. If you did not do this, freeze your account with the link below.
mail-password-reset-subject = Your password was reset
mail-password-reset-body = The password of your { $app } account was reset after a code sent to this address and { $factor }. Every session was ended. { $hold }If you did not do this, freeze your account now with the link below: someone has your mailbox and your second factor.
mail-password-reset-factor-totp = a code from your authenticator app
mail-password-reset-factor-sms = a code sent to your phone
mail-password-reset-factor-none = nothing else, since your account has no second factor
sms-password-reset = { $app }: your password was reset. Not you? Freeze your account: { $link }
sms-frozen-by-owner = { $app }: your account is frozen. Nobody can sign in or withdraw.
