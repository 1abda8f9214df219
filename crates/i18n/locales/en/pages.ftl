# Texts of the pages. Ids: <page or part>-<what>.

## base.html: every page
site-title-suffix = twostep
site-skip = Skip to content
site-nav-label = Main
site-nav-security = Security
site-nav-activity = Activity
site-nav-withdraw = Withdraw
site-nav-logout = Log out
site-nav-signin = Sign in
site-nav-signup = Create account
site-nav-outbox = Outbox
site-nav-outbox-title = Development outbox: messages that would have been sent
site-footer = twostep keeps your account safe with a second step.
# Read by app.js: the resend button's countdown ("Get a new code in 42 s").
site-resend-in = { $label } in { $seconds } s

## macros.html: form parts shared by pages
form-code-label = 6-digit code
form-hold-title = Withdrawals are paused
form-hold-until = A security hold runs until
form-hold-left = left
form-hold-why = Holds follow sensitive changes (a new password, authenticator or phone), so that someone who took over the account cannot move funds out at once.
form-stepup-summary-phone = No authenticator at hand? Get a code by SMS or voice call
form-stepup-summary-email = No authenticator at hand? Get a code by e-mail
form-send-by = Send the code by
form-channel-sms = SMS
form-channel-voice = Voice call
form-channel-email = E-mail
form-send-me-code = Send me a code
form-sent-to = We sent a code to { $to } ({ $channel }). It is valid until { $until }.

## signup.html
signup-title = Create an account
signup-lead = We will e-mail you a 6-digit code to confirm the address.
signup-email = E-mail address
signup-password = Password
signup-password-hint = At least 8 characters; a few unrelated words make a strong one.
signup-submit = Create account
signup-have-account = Already have an account?
signup-signin-link = Sign in

## confirm.html
confirm-title = Confirm your e-mail
confirm-lead = If the address can receive mail, a 6-digit code is on its way. It is valid for { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }.
confirm-lead-to = If the address can receive mail, a 6-digit code is on its way to { $email }. It is valid for { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }.
confirm-email = E-mail address
confirm-code = Code from the e-mail
confirm-submit = Confirm

## login.html
login-title = Sign in
login-email = E-mail address
login-password = Password
login-puzzle = A small puzzle keeps robots out; this browser solves it for you.
login-puzzle-noscript = Signing in needs JavaScript for this puzzle. Please allow scripts from this site.
login-puzzle-unsupported = This browser cannot solve the sign-in puzzle.
login-puzzle-solving = Solving the sign-in puzzle… { $percent }%
login-puzzle-solved = Puzzle solved. You can sign in.
login-puzzle-failed = The puzzle failed ({ $reason }). Reload the page to try again.
login-puzzle-finishing = Finishing the puzzle, then signing you in…
login-submit = Sign in
login-new-here = New here?
login-signup-link = Create an account
login-waiting = Waiting for a code?
login-confirm-link = Confirm your e-mail
login-recovery-asked = You asked to recover an account from this browser:
login-recovery-link = see where your request stands
login-notice-confirmed = Your e-mail address is confirmed. You can sign in now.
login-notice-signed-out = You are signed out.
login-notice-expired = Your sign-in expired; please sign in again.

## second_step.html
second-title = Second step
second-totp-title = Authenticator code
second-totp-lead = Open your authenticator app and type the 6-digit code it shows for { $app }.
second-totp-code = Code from the app
second-verify = Verify
second-phone-title = Phone verification
second-phone-send-by = Send a code to your phone by
second-get-code = Get code
second-get-new-code = Get a new code
second-sent-sms = We sent a code to { $to } by SMS. It is valid until { $until }.
second-sent-voice = We sent a code to { $to } by voice call. It is valid until { $until }.
second-sent-email = We sent a code to { $to }. It is valid until { $until }.
second-code-received = Code you received
second-submit = Submit
second-email-title = Code by e-mail
second-email-code = Code from the e-mail
second-use-totp = Use the authenticator app
second-use-phone = Switch to phone verification
second-use-email = Get a code by e-mail
second-unavailable = Security check not available
second-choose-channel = Choose SMS, voice call or e-mail.

## message.html
message-back = Back to the start

## outbox.html
outbox-title = Outbox
outbox-heading = Development outbox
outbox-lead = No e-mail, SMS or voice provider is set up, so messages land here instead of being sent. This page disappears once a provider is configured.
outbox-recipient = Recipient
outbox-recipient-example = alice@example.com or +447700900123
outbox-filter = Filter
outbox-to = to
outbox-code = Code
outbox-empty = No messages yet. Messages arrive within a second or two; reload to check.
outbox-empty-to = No messages to { $to } yet. Messages arrive within a second or two; reload to check.

## password.html
password-title = Change password
password-lead = Your other sessions will be signed out, and withdrawals pause for 24 hours.
password-current = Current password
password-new = New password
password-new-hint = At least 8 characters.
password-code = Code from your authenticator app, or the code we sent (not needed if you confirmed it is you in the last few minutes)
password-submit = Change password
password-back = Back to security settings
password-wrong-current = That is not your current password.

## sudo.html
sudo-title = Confirm it's you
sudo-lead = Before a change to your account's security we ask again for something only you have. It stays confirmed for a few minutes.
sudo-totp-code = Code from your authenticator app
sudo-totp-submit = Confirm with the authenticator
sudo-send-by = Send a code by
sudo-send = Send me a code
sudo-code-received = Code you received
sudo-code-submit = Confirm with the code
sudo-password = Your password
sudo-password-submit = Confirm with the password
sudo-back = Back to security settings
sudo-choose-method = Choose how to confirm.
sudo-choose-channel = Choose a channel.
sudo-wrong-password = That is not your password.
passkey-failed = The passkey did not answer ({ $reason }). Try again, or use another way.
passkey-unsupported = This browser cannot use passkeys here.
passkey-noscript = Passkeys need JavaScript in this browser.
passkey-off = Passkeys are not available on this server.
passkey-refused = This passkey was not accepted. Try again, or use another way.
second-passkey-title = Use your passkey
second-passkey-lead = Your device asks you to unlock the passkey you saved for this site, with its fingerprint, face or screen lock.
second-passkey-submit = Use my passkey
second-use-passkey = Use a passkey
login-passkey = Sign in with a passkey
sudo-passkey-submit = Confirm with my passkey
