# The signed-in account's pages: security settings, authenticator, phone,
# withdrawals, activity and security questions.

## account.html
account-title = Security settings
account-back = Back to security settings
account-next-title = What to set up next
account-next-authenticator = Set up an authenticator app
account-next-authenticator-why = the safest second step, and what a recovery resets when a phone is lost.
account-next-phone = Add a phone
account-next-phone-why = codes by SMS or voice call when your authenticator is not at hand.
account-next-questions = Set your security questions
account-next-questions-why = so staff can recognise you if you ever need recovery again.
account-email = E-mail
account-email-confirmed = Confirmed
account-authenticator = Authenticator app
account-authenticator-bound = Bound: codes from your app are your second step.
account-authenticator-none = Not set up. An authenticator app is the safest second step.
account-authenticator-manage = Replace or remove
account-authenticator-set-up = Set up
account-phone = Phone
account-phone-bound = { $phone }: codes by SMS or voice call.
account-phone-none = No phone yet.
account-phone-replace = Replace
account-phone-add = Add a phone
account-password = Password
account-password-why = Changing it signs out your other sessions.
account-change = Change
account-questions = Security questions
account-questions-why = Help staff recognise you if you ever lose your second factor.
account-questions-set = Set
account-activity = Activity
account-activity-why = Sign-ins and security changes, newest first.
account-activity-view = View
account-withdrawals = Withdrawals
account-withdrawals-held = Paused by a security hold.
account-withdrawals-code = Need a fresh second-step code.
account-withdraw = Withdraw
account-staff-console = Staff console
account-staff-needs-authenticator = (bind an authenticator first: staff have no access without one)
account-done-authenticator = Your authenticator is bound. Keep the backup key somewhere safe.
account-done-authenticator-removed = The authenticator was removed. Withdrawals are paused for a while.
account-done-phone = Your phone number is bound.
account-done-password = Your password was changed and other sessions were signed out. Withdrawals are paused for a while.
account-done-questions = Your security questions are saved. They help staff if you ever need account recovery.

## authenticator.html
authenticator-title = Authenticator app
authenticator-scan = Scan this QR code
authenticator-scan-apps = Use Google Authenticator or any app that makes 6-digit codes (TOTP).
authenticator-qr-label = QR code for your authenticator app
authenticator-same-phone = Setting up on this phone?
authenticator-open-in-app = Open it in your authenticator app
authenticator-write-down = Write down the backup key
authenticator-write-now = Write this key on paper now and keep it somewhere safe.
authenticator-write-why = If you lose your phone, typing it into a new authenticator app brings your codes back. Anyone who has it can make your codes, so do not store it in e-mail or a screenshot. We will not show it again.
authenticator-copied = Copied. Now write it down.
authenticator-copy-failed = Select the key and copy it by hand.
authenticator-copy = Copy key
authenticator-show-saved = Show that you saved it
authenticator-type-key = Type the backup key back
authenticator-type-key-hint = Spaces and small letters are fine.
authenticator-code = The 6-digit code your app shows now
authenticator-bind = Bind the authenticator
authenticator-is-bound = An authenticator app is bound to your account. Sign-ins and withdrawals ask for its code.
authenticator-lost-phone = Lost the phone? Type your backup key into an authenticator app on the new one: the codes come back.
authenticator-change-title = Replace or remove it
authenticator-change-why = Both first ask you to confirm it is you. Either one pauses withdrawals for a while and tells your e-mail.
authenticator-change-why-phone = Both first ask you to confirm it is you. Either one pauses withdrawals for a while and tells your e-mail and phone.
authenticator-replace = Replace it with a new one
authenticator-remove = Remove it
authenticator-remove-last = Without an authenticator or a phone, your password and e-mail codes alone protect the account.
authenticator-lead = An authenticator app on your phone makes a new 6-digit code every 30 seconds. With it, a stolen password is not enough to get into your account.
authenticator-start = Set up an authenticator

## phone.html
phone-title = Phone number
phone-lead-bound = Your phone is { $phone }. A new number replaces it and pauses withdrawals for 24 hours.
phone-lead = With a phone you can get sign-in codes by SMS or voice call.
phone-sent = We sent a code by SMS to { $to }. It is valid until { $until }.
phone-code = Code from the SMS
phone-bind = Bind this phone
phone-send-new = Send a new code
phone-number = Phone number
phone-number-hint = In international format with the country code, e.g. +44 7700 900123.
phone-send = Send code

## withdraw.html
withdraw-title = Withdraw
withdraw-requested = Withdrawal requested. Reference:
withdraw-held = The form opens again when the hold ends.
withdraw-asset = Asset
withdraw-amount = Amount
withdraw-address = Destination address
withdraw-code = Code from your authenticator app, or the code we sent (not needed if you confirmed it is you in the last few minutes)
withdraw-submit = Request withdrawal

## activity.html
activity-title = Activity
activity-heading = Recent activity
activity-lead = If something here was not you, change your password at once.
activity-by = by { $who }
activity-none = Nothing yet.

## questions.html
questions-title = Security questions
questions-lead = Answer 2 to 5 of these. If you ever lose your second factor, the reviewer sees how well a recovery request answers them. They never sign you in on their own. Leave the others blank.
questions-save = Save answers
account-passkeys = Passkeys
account-passkeys-count = { $n ->
        [one] One passkey
       *[other] { $n } passkeys
    }
account-passkeys-none = None yet. A passkey signs you in with your device's screen lock, and no phishing site can use it.
account-passkeys-manage = Manage passkeys
passkeys-title = Passkeys
passkeys-lead = A passkey lives in your phone, computer or security key and is unlocked with its screen lock. It is the strongest second factor: it works only on this site, so a phishing page cannot use it.
passkeys-added = added
passkeys-last-used = last used
passkeys-never-used = never used
passkeys-new-name = New name
passkeys-rename = Rename
passkeys-remove = Remove
passkeys-remove-named = Remove the passkey { $name }
passkeys-none = You have no passkey yet.
passkeys-add-title = Add a passkey
passkeys-full = You have { $n } passkeys, the most an account may hold. Remove one to add another.
passkeys-add-why = Beside another second factor, a new passkey pauses withdrawals for a while, and your e-mail and phone are told.
passkeys-name = Name of the passkey
passkeys-name-hint = For example Laptop or Phone, 1 to 64 characters.
passkeys-add = Create a passkey
passkeys-confirm-first = To add a passkey, confirm it is you first.
passkeys-confirm = Confirm it's you
passkeys-done-added = Passkey added.
passkeys-done-renamed = Passkey renamed.
passkeys-done-removed = Passkey removed.
