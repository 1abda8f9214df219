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
mail-password-reset-factor-passkey = one of your passkeys
mail-password-reset-factor-none = nothing else, since your account has no second factor
sms-password-reset = { $app }: your password was reset. Not you? Freeze your account: { $link }
sms-frozen-by-owner = { $app }: your account is frozen. Nobody can sign in or withdraw.

login-forgot = Forgot your password?
login-freeze = Freeze my account
account-phrase = Anti-phishing phrase
account-phrase-set = Set: every e-mail from us shows it on its first line.
account-phrase-none = Not set. Choose a phrase that every genuine e-mail from us will show.
account-phrase-add = Set a phrase
account-done-phrase = Your anti-phishing phrase is set. Look for it at the top of every e-mail from us.
account-done-phrase-removed = Your anti-phishing phrase was removed.

reset-title = Reset your password
reset-lead = Type the e-mail address of your account. If it has one, we send a code to it.
reset-send-code = Send me a code
reset-code-lead = If { $email } belongs to an account, a code is on its way to it. It works for { $minutes } minutes.
reset-code-label = Code from the e-mail
reset-continue = Continue
reset-other-address = Use another address
reset-back-to-sign-in = Back to sign-in
reset-expired = That reset is over. Start again.
reset-code-wrong = That code is not right, or no longer works. Check the newest e-mail, or ask for a new code.
reset-new-title = Choose a new password
reset-frozen = This account is frozen. A new password cannot unfreeze it: start a recovery below ("Security check not available"), which our staff review, or contact them.
reset-prove-totp = Prove it is you with a code from your authenticator app.
reset-prove-phone = Prove it is you with a code sent to your phone.
reset-no-factor = Your account has no second factor: the code from the e-mail is enough.
reset-sent = A code was sent to { $to }.
reset-new-password = New password
reset-password-hint = 8 to 128 characters.
reset-what-happens = Every session of your account will end, and withdrawals will be paused for a while. We tell your e-mail and phone.
reset-submit = Set the new password
reset-factor-wrong = That code is not right. Use a current code.
reset-done-title = Your password is reset
reset-done = Your password was changed and every session was ended.
reset-done-hold = Withdrawals are paused until
reset-sign-in = Sign in

freeze-title = Freeze my account
freeze-lead = For the moment your phone is lost or stolen: nobody can sign in or withdraw, and every session ends, until our staff or an approved recovery unfreeze it.
freeze-submit = Freeze my account now
freeze-code-lead = If { $email } belongs to an account, a code is on its way to it. Type it to freeze the account.
freeze-done = Your account is frozen. Nobody can sign in or withdraw, and every session was ended.
freeze-undo = To unfreeze it, use "Forgot your password?" and then "Security check not available", or contact our staff.
freeze-link-unknown = This freeze link is not one of ours. Use the link from an e-mail we sent, or ask for a code below.

phrase-title = Anti-phishing phrase
phrase-lead = Choose a few words that only you know. Every e-mail from us will show them on its first line, so an e-mail without them is not from us. We never show the phrase on a page or in a text message.
phrase-is-set = A phrase is set. Typing a new one replaces it.
phrase-label = Phrase
phrase-hint = 4 to 40 characters.
phrase-set = Set the phrase
phrase-change = Replace the phrase
phrase-remove = Remove the phrase
phrase-back = Back to security settings
reset-unavailable = Security check not available
reset-unavailable-lead = Lost your authenticator or phone too? Ask our staff to restore your account: choose the new password here, then prove your e-mail and phone, answer a few questions and send a photo of an identity document. Once staff approve, this password works and withdrawals are paused for 48 hours. Your e-mail and phone are told at once, and the real owner can stop the request.
reset-open-recovery = Start the recovery
recovery-item-password = the password
recovery-items-sets-password = This recovery also sets the new password you chose. Tick what else you lost, or nothing.
reset-prove-passkey = Prove it is you with your passkey, and choose the new password.
reset-passkey-submit = Use my passkey and set the password
reset-or-code = Or prove it with a code instead.
