# E-mails and text messages. Subjects end in -subject; a body is sent by
# e-mail and, where the account has a phone, as a text message too.
# Each paragraph is one line: Fluent joins continuation lines with a line break.

## Messages that carry a code. An operator's own text (--sms-template and
## the like) replaces these in every language.
code-sms = Your { $app } code is { $code }. It expires in { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }. Never share it.
code-voice = Your { $app } code is: { $code }. Again, your code is: { $code }.
code-email-subject = Your { $app } code
code-email-body =
    Your { $app } code is { $code }. It expires in { $minutes ->
            [one] { $minutes } minute
           *[other] { $minutes } minutes
        }.

    Never share it: { $app } staff will never ask for it.

## What an e-mailed code is for, after its message (an operator's own text
## included), so that a code nobody asked for tells its owner what to do.
code-why-signup = This code confirms this address for a new { $app } account. If you did not sign up, do nothing: no account is made without it.
code-why-login = You signed in with your password and asked for this code to finish. If that was not you, someone knows your password: change it, or freeze your account from the link at the end of this e-mail.
code-why-step-up = This code confirms a change to your account's security. If you did not ask for it, someone is signed in as you: freeze your account from the link at the end of this e-mail.
code-why-password-reset = Someone asked to reset your password with this address. If that was not you, do not pass the code on, and your password stays as it is. To stop every sign-in, freeze your account from the link at the end of this e-mail.
code-why-freeze = This code freezes your account: no sign-in and no withdrawal until a reviewed recovery gives it back. If you did not ask for it, do nothing.
code-why-recovery = This code proves this address for a recovery of your { $app } account, which resets its security. If you did not open one, do not pass the code on, and cancel the recovery with the code in the e-mail that told you of it.

## The sentence about the withdrawal hold that follows a change.
mail-hold-days = Withdrawals are paused for { $n ->
        [one] { $n } day
       *[other] { $n } days
    }.
mail-hold-hours = Withdrawals are paused for { $n ->
        [one] { $n } hour
       *[other] { $n } hours
    }.
mail-hold-minutes = Withdrawals are paused for { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }.
mail-hold-seconds = Withdrawals are paused for { $n ->
        [one] { $n } second
       *[other] { $n } seconds
    }.

mail-signup-existing-subject = Sign-up attempt with your address
mail-signup-existing-body = Someone tried to create a { $app } account with your e-mail address. You already have an account, and nothing was changed; if this was you, sign in instead.

mail-totp-added-subject = Authenticator added
mail-totp-added-body = An authenticator was added to your { $app } account. { $hold }If this was not you, start account recovery at once.
mail-totp-replaced-subject = Authenticator replaced
mail-totp-replaced-body = The authenticator of your { $app } account was replaced. { $hold }If this was not you, start account recovery at once.
mail-totp-removed-subject = Authenticator removed
mail-totp-removed-body = The authenticator was removed from your { $app } account. { $hold }If this was not you, contact support at once.
mail-passkey-added-subject = Passkey added
mail-passkey-added-body = A passkey named “{ $name }” was added to your { $app } account. { $hold }If this was not you, start account recovery at once.
mail-passkey-removed-subject = Passkey removed
mail-passkey-removed-body = The passkey named “{ $name }” was removed from your { $app } account. { $hold }If this was not you, contact support at once.
mail-passkey-clone-subject = A passkey was refused
mail-passkey-clone-body = Your passkey “{ $name }” signed with a counter lower than before, which happens when a copy of it is used. The sign-in was refused. If you did not just use it, freeze your account and remove that passkey.

mail-password-changed-subject = Your password was changed
mail-password-changed-recovery-stopped = The account recovery under way was stopped.
mail-password-changed-body = The password of your { $app } account was changed and other sessions were signed out. { $hold }{ $stopped }If this was not you, start account recovery at once.

mail-phone-changed-subject = Your phone number changed
mail-phone-replaced-body = The phone number of your { $app } account was changed to { $phone }. { $hold }If this was not you, start account recovery at once.
mail-phone-added-hold-body = The phone number { $phone } was added to your { $app } account. { $hold }If this was not you, start account recovery at once.
mail-phone-added-body = The phone number { $phone } was added to your { $app } account. If this was not you, change your password and contact support.

mail-questions-changed-subject = Security questions changed
mail-questions-changed-body = The security questions of your account were changed. If this was not you, start account recovery at once.

mail-staff-recovery-refused-subject = Recovery refused for your staff account
mail-staff-recovery-refused-body = Someone who knows the password of your { $app } staff account tried to start account recovery (from IP { $ip }). Staff accounts cannot recover that way and nothing was changed. If this wasn't you, change your password now and tell an admin.

mail-staff-reset-requested-subject = Staff account reset requested
mail-staff-reset-requested-body = An admin asked to reset the { $items } of your { $app } staff account. It happens only when a second admin agrees, within { $hours ->
        [one] { $hours } hour
       *[other] { $hours } hours
    }. If you did not ask for this, tell your admins at once.
mail-staff-reset-subject = Your staff account was reset
mail-staff-reset-body = Two admins reset the { $items } of your { $app } staff account and every session was signed out. Sign in, bind a new authenticator, and ask an admin to confirm your account: until then it has no staff access. If you did not ask for this, tell your admins at once.
mail-staff-confirmed-subject = Your staff account was confirmed
mail-staff-confirmed-body = An admin confirmed your { $app } staff account after its reset: its staff access is back. If you did not ask for this, tell your admins at once.

## What a recovery resets, as listed in the messages about it.
mail-item-authenticator = authenticator
mail-item-phone = phone
mail-item-passkeys = passkeys
mail-item-email = email
mail-item-password = password

mail-recovery-cancel-instructions =
    If this wasn't you, stop it now: { $link }
    (or give this cancel code to support)
    cancel code: { $code }
sms-recovery-started = Account recovery started on your account. Not you? Stop it: { $link }
sms-recovery-submitted = A request to recover your account was sent for review. Not you? Stop it: { $link }
mail-recovery-withdrawn-subject = Account recovery withdrawn
mail-recovery-withdrawn-body = The request to recover your account without its second factor was withdrawn by the person who made it. Nothing on your account was changed.
mail-recovery-started-subject = Account recovery started
mail-recovery-started-body =
    Someone who knows your password started recovering your account without its second factor (from IP { $ip }). If this was you, carry on. If it wasn't, stop it now and change your password.

    { $cancel }
mail-recovery-submitted-subject = Account recovery submitted
mail-recovery-submitted-body =
    A request to recover your account was submitted for review. It asks to reset: { $items }. If it is approved, withdrawals stay blocked for { $hours ->
            [one] { $hours } hour
           *[other] { $hours } hours
        }.

    { $cancel }
mail-recovery-approved-subject = Account recovery approved
mail-recovery-approved-body = The recovery of your account was approved: { $items } reset, every session signed out. Withdrawals are blocked for { $hours ->
        [one] { $hours } hour
       *[other] { $hours } hours
    }. If this was not you, use the cancel code from our earlier message at once: the account will be frozen until our staff have looked at it.
mail-recovery-rejected-subject = Account recovery rejected
mail-recovery-rejected-body = The request to recover your account was rejected; nothing was changed. If it was yours, you may start a new one with more evidence.
mail-account-frozen-subject = Account frozen
mail-account-frozen-body = You used your cancel code after a recovery of your account was approved. The account is frozen: nobody can sign in or withdraw until our staff have looked at it, and every recovery under way was stopped.
mail-recovery-stopped-subject = Account recovery stopped
mail-recovery-stopped-by-code-body = You used your cancel code: every recovery of your account under way was stopped and nothing was changed. Someone may know your password: change it now.
mail-recovery-stopped-signed-in-body = Every recovery of your account under way was stopped from your signed-in account. Someone may know your password: change it now.
sms-passkey-added = { $app }: a passkey was added to your account. Not you? Freeze your account: { $link }
sms-passkey-removed = { $app }: a passkey was removed from your account. Not you? Freeze your account: { $link }
sms-passkey-clone = { $app }: a copy of one of your passkeys was refused. Not you? Freeze your account: { $link }
