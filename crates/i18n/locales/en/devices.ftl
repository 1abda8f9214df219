# New-device confirmation: the e-mail, its link's page, the sign-in's
# waiting step, the account's devices and the audit words.

## The e-mail "Was this you?".
mail-device-confirm-subject = Was this you? A sign-in from a new device
mail-device-confirm-body =
    Someone signed in to your { $app } account with your password and second factor, from a device it has not used before:

    Browser: { $browser }
    IP: { $ip }
    Time: { $time }

    If it was you, approve this sign-in (the link expires in { $minutes ->
            [one] { $minutes } minute
           *[other] { $minutes } minutes
        }):
    { $approve }

    If it was not you, deny it. Your account is then frozen at once: nobody can sign in or withdraw, and every session ends, until you recover it or our staff look. Then change your password.
    { $deny }
mail-device-setting-subject = New-device confirmation changed
mail-device-setting-on-body = Sign-ins from new devices to your { $app } account now need your approval by e-mail.
mail-device-setting-off-body = Sign-ins from new devices to your { $app } account no longer need your approval by e-mail. If you did not change this, someone is signed in to your account: freeze it or change your password now.

## A browser in words.
device-browser-on = { $browser } on { $system }
device-browser-unknown = an unknown browser
device-browser-other = another app or browser

## Places named from the IP alone (no geo-IP database is used).
device-place-this-computer = this computer
device-place-private-network = a private network

## The sign-in's waiting step.
device-wait-title = Confirm this new device
device-wait-lead = This browser has not signed in to your account before. We sent an e-mail to your address: open it and approve this sign-in.
device-wait-how = Once you have approved it, come back here and continue.
device-wait-continue = I approved it, continue
device-wait-not-yet = The e-mail has not been approved yet. Open it, approve the sign-in, then continue.
device-wait-not-you = If you did not sign in, deny it from the e-mail: your account is then frozen.

## The e-mail link's page.
device-confirm-title = Was this you?
device-confirm-lead = Someone signed in to your account from a new device. Approve it only if it was you.
device-browser = Browser
device-ip = IP address
device-when = Time
device-confirm-approve = Yes, it was me
device-confirm-deny = No, freeze my account
device-confirm-deny-why = Denying ends this sign-in and freezes your account: nobody can sign in or withdraw until you recover it or our staff look.
device-confirm-approved = Approved. Go back to the window where you signed in and continue.
device-confirm-denied = Denied. Your account is frozen and every session has ended. Someone knows your password and second factor.
device-confirm-gone = This sign-in was already answered or has expired.

## The account's devices.
devices-title = Devices
devices-why = Browsers and apps signed in to your account.
devices-view = View devices
devices-lead = Every browser or app that signed in to your account. Sign out one you do not use any more; forget one you do not recognise, so that its next sign-in needs your approval by e-mail.
devices-place-note = The place is shown only where the address itself tells it (this computer, a private network); otherwise only the IP address.
devices-this-one = this device
devices-unconfirmed = not approved
devices-first-seen = First seen
devices-last-seen = last seen
devices-sign-out = Sign out this device
devices-forget = Forget it
devices-done-signed-out = That device is signed out.
devices-done-forgotten = That device is forgotten: its next sign-in needs your approval by e-mail.
devices-done-setting = Saved. Your e-mail and phone were told.
devices-setting-title = New-device confirmation
devices-setting-on = Sign-ins from new devices need your approval by e-mail.
devices-setting-off = Sign-ins from new devices do not need your approval by e-mail.
devices-setting-turn-on = Turn on
devices-setting-turn-off = Turn off
devices-setting-staff = Staff accounts always confirm new devices.
devices-back = Back to the account

## Audit words.
audit-second-factor-ok = Second factor accepted, new device to confirm
audit-device-confirmation-sent = New-device confirmation e-mailed
audit-device-confirmed = New device approved from the e-mail
audit-device-denied = New device denied from the e-mail
audit-device-signed-out = Device signed out
audit-device-forgotten = Device forgotten
audit-device-confirmation-setting = New-device confirmation changed
