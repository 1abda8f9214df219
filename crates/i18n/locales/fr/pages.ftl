# Textes des pages. Voir locales/en/pages.ftl.

## base.html
site-title-suffix = twostep
site-skip = Aller au contenu
site-nav-label = Navigation principale
site-nav-security = Sécurité
site-nav-activity = Activité
site-nav-withdraw = Retrait
site-nav-logout = Se déconnecter
site-nav-signin = Se connecter
site-nav-signup = Créer un compte
site-nav-outbox = Boîte d’envoi
site-nav-outbox-title = Boîte d’envoi de développement : les messages qui auraient été envoyés
site-footer = twostep protège votre compte par une seconde étape.
site-resend-in = { $label } dans { $seconds } s

## macros.html
form-code-label = Code à 6 chiffres
form-hold-title = Les retraits sont suspendus
form-hold-until = Une suspension de sécurité court jusqu’au
form-hold-left = restant
form-hold-why = Une suspension suit les modifications sensibles (nouveau mot de passe, nouvelle application d’authentification ou nouveau téléphone), afin que quelqu’un qui aurait pris le contrôle du compte ne puisse pas retirer les fonds immédiatement.
form-stepup-summary-phone = Pas d’application d’authentification sous la main ? Recevez un code par SMS ou appel vocal
form-stepup-summary-email = Pas d’application d’authentification sous la main ? Recevez un code par e-mail
form-send-by = Envoyer le code par
form-channel-sms = SMS
form-channel-voice = Appel vocal
form-channel-email = E-mail
form-send-me-code = Envoyez-moi un code
form-sent-to = Nous avons envoyé un code à { $to } ({ $channel }). Il est valable jusqu’au { $until }.

## signup.html
signup-title = Créer un compte
signup-lead = Nous vous enverrons par e-mail un code à 6 chiffres pour confirmer l’adresse.
signup-email = Adresse e-mail
signup-password = Mot de passe
signup-password-hint = Au moins 8 caractères ; quelques mots sans rapport entre eux font un mot de passe solide.
signup-submit = Créer le compte
signup-have-account = Vous avez déjà un compte ?
signup-signin-link = Se connecter

## confirm.html
confirm-title = Confirmez votre e-mail
confirm-lead = Si l’adresse peut recevoir du courrier, un code à 6 chiffres est en route. Il est valable { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }.
confirm-lead-to = Si l’adresse peut recevoir du courrier, un code à 6 chiffres est en route vers { $email }. Il est valable { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }.
confirm-email = Adresse e-mail
confirm-code = Code reçu par e-mail
confirm-submit = Confirmer

## login.html
login-title = Se connecter
login-email = Adresse e-mail
login-password = Mot de passe
login-puzzle = Une petite énigme tient les robots à l’écart ; ce navigateur la résout pour vous.
login-puzzle-noscript = La connexion a besoin de JavaScript pour cette énigme. Autorisez les scripts de ce site.
login-puzzle-unsupported = Ce navigateur ne peut pas résoudre l’énigme de connexion.
login-puzzle-solving = Résolution de l’énigme de connexion… { $percent } %
login-puzzle-solved = Énigme résolue. Vous pouvez vous connecter.
login-puzzle-failed = L’énigme a échoué ({ $reason }). Rechargez la page pour réessayer.
login-puzzle-finishing = Fin de l’énigme, puis connexion…
login-submit = Se connecter
login-new-here = Nouveau ici ?
login-signup-link = Créer un compte
login-waiting = Vous attendez un code ?
login-confirm-link = Confirmez votre e-mail
login-recovery-asked = Vous avez demandé la récupération d’un compte depuis ce navigateur :
login-recovery-link = voir où en est votre demande
login-notice-confirmed = Votre adresse e-mail est confirmée. Vous pouvez vous connecter.
login-notice-signed-out = Vous êtes déconnecté.
login-notice-expired = Votre connexion a expiré ; veuillez vous reconnecter.

## second_step.html
second-title = Seconde étape
second-totp-title = Code d’authentification
second-totp-lead = Ouvrez votre application d’authentification et saisissez le code à 6 chiffres qu’elle affiche pour { $app }.
second-totp-code = Code de l’application
second-verify = Vérifier
second-phone-title = Vérification par téléphone
second-phone-send-by = Envoyer un code à votre téléphone par
second-get-code = Recevoir un code
second-get-new-code = Recevoir un nouveau code
second-sent-sms = Nous avons envoyé un code au { $to } par SMS. Il est valable jusqu’au { $until }.
second-sent-voice = Nous avons envoyé un code au { $to } par appel vocal. Il est valable jusqu’au { $until }.
second-sent-email = Nous avons envoyé un code à { $to }. Il est valable jusqu’au { $until }.
second-code-received = Code reçu
second-submit = Valider
second-email-title = Code par e-mail
second-email-code = Code reçu par e-mail
second-use-totp = Utiliser l’application d’authentification
second-use-phone = Passer à la vérification par téléphone
second-use-email = Recevoir un code par e-mail
second-unavailable = Vérification de sécurité impossible
second-choose-channel = Choisissez SMS, appel vocal ou e-mail.

## message.html
message-back = Retour à l’accueil

## outbox.html
outbox-title = Boîte d’envoi
outbox-heading = Boîte d’envoi de développement
outbox-lead = Aucun fournisseur d’e-mail, de SMS ou d’appel vocal n’est configuré : les messages arrivent ici au lieu d’être envoyés. Cette page disparaît dès qu’un fournisseur est configuré.
outbox-recipient = Destinataire
outbox-recipient-example = alice@example.com ou +447700900123
outbox-filter = Filtrer
outbox-to = à
outbox-code = Code
outbox-empty = Aucun message pour l’instant. Les messages arrivent en une ou deux secondes ; rechargez pour vérifier.
outbox-empty-to = Aucun message pour { $to } pour l’instant. Les messages arrivent en une ou deux secondes ; rechargez pour vérifier.

## password.html
password-title = Changer le mot de passe
password-lead = Vos autres sessions seront déconnectées et les retraits seront suspendus pendant 24 heures.
password-current = Mot de passe actuel
password-new = Nouveau mot de passe
password-new-hint = Au moins 8 caractères.
password-code = Code de votre application d’authentification, ou le code que nous avons envoyé (inutile si vous avez confirmé votre identité ces dernières minutes)
password-submit = Changer le mot de passe
password-back = Retour aux paramètres de sécurité
password-wrong-current = Ce n’est pas votre mot de passe actuel.

## sudo.html
sudo-title = Confirmez votre identité
sudo-lead = Avant une modification de la sécurité de votre compte, nous vous demandons à nouveau une chose que vous seul possédez. La confirmation reste valable quelques minutes.
sudo-totp-code = Code de votre application d’authentification
sudo-totp-submit = Confirmer avec l’application
sudo-send-by = Envoyer un code par
sudo-send = Envoyez-moi un code
sudo-code-received = Code reçu
sudo-code-submit = Confirmer avec le code
sudo-password = Votre mot de passe
sudo-password-submit = Confirmer avec le mot de passe
sudo-back = Retour aux paramètres de sécurité
sudo-choose-method = Choisissez comment confirmer.
sudo-choose-channel = Choisissez un canal.
sudo-wrong-password = Ce n’est pas votre mot de passe.
passkey-failed = La clé d’accès n’a pas répondu ({ $reason }). Réessayez, ou utilisez un autre moyen.
passkey-unsupported = Ce navigateur ne peut pas utiliser de clé d’accès ici.
passkey-noscript = Les clés d’accès ont besoin de JavaScript dans ce navigateur.
passkey-off = Les clés d’accès ne sont pas disponibles sur ce serveur.
passkey-refused = Cette clé d’accès n’a pas été acceptée. Réessayez, ou utilisez un autre moyen.
second-passkey-title = Utilisez votre clé d’accès
second-passkey-lead = Votre appareil vous demande de déverrouiller la clé d’accès enregistrée pour ce site, par empreinte, visage ou verrouillage d’écran.
second-passkey-submit = Utiliser ma clé d’accès
second-use-passkey = Utiliser une clé d’accès
login-passkey = Se connecter avec une clé d’accès
sudo-passkey-submit = Confirmer avec ma clé d’accès
