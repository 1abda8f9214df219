# Les pages du compte connecté : réglages de sécurité, application
# d’authentification, téléphone, retraits, activité et questions de sécurité.

## account.html
account-title = Réglages de sécurité
account-back = Retour aux réglages de sécurité
account-next-title = À configurer ensuite
account-next-authenticator = Configurer une application d’authentification
account-next-authenticator-why = le second facteur le plus sûr, et ce qu’une récupération réinitialise quand un téléphone est perdu.
account-next-phone = Ajouter un téléphone
account-next-phone-why = des codes par SMS ou appel vocal quand votre application n’est pas sous la main.
account-next-questions = Définir vos questions de sécurité
account-next-questions-why = pour que l’équipe puisse vous reconnaître si vous avez de nouveau besoin d’une récupération.
account-email = E-mail
account-email-confirmed = Confirmée
account-authenticator = Application d’authentification
account-authenticator-bound = Associée : les codes de votre application sont votre second facteur.
account-authenticator-none = Non configurée. Une application d’authentification est le second facteur le plus sûr.
account-authenticator-manage = Remplacer ou retirer
account-authenticator-set-up = Configurer
account-phone = Téléphone
account-phone-bound = { $phone } : codes par SMS ou appel vocal.
account-phone-none = Pas encore de téléphone.
account-phone-replace = Remplacer
account-phone-add = Ajouter un téléphone
account-password = Mot de passe
account-password-why = Le changer ferme vos autres sessions.
account-change = Changer
account-questions = Questions de sécurité
account-questions-why = Elles aident l’équipe à vous reconnaître si vous perdez un jour votre second facteur.
account-questions-set = Définir
account-activity = Activité
account-activity-why = Connexions et changements de sécurité, les plus récents d’abord.
account-activity-view = Voir
account-withdrawals = Retraits
account-withdrawals-held = Suspendus par un blocage de sécurité.
account-withdrawals-code = Demandent un code de second facteur récent.
account-withdraw = Retirer
account-staff-console = Console de l’équipe
account-staff-needs-authenticator = (associez d’abord une application d’authentification : l’équipe n’a aucun accès sans elle)
account-done-authenticator = Votre application d’authentification est associée. Gardez la clé de secours en lieu sûr.
account-done-authenticator-removed = L’application d’authentification a été retirée. Les retraits sont suspendus pour un temps.
account-done-phone = Votre numéro de téléphone est associé.
account-done-password = Votre mot de passe a été changé et les autres sessions ont été fermées. Les retraits sont suspendus pour un temps.
account-done-questions = Vos questions de sécurité sont enregistrées. Elles aident l’équipe si vous avez un jour besoin d’une récupération.

## authenticator.html
authenticator-title = Application d’authentification
authenticator-scan = Scannez ce code QR
authenticator-scan-apps = Utilisez Google Authenticator ou toute application qui produit des codes à 6 chiffres (TOTP).
authenticator-qr-label = Code QR pour votre application d’authentification
authenticator-same-phone = Vous configurez sur ce téléphone ?
authenticator-open-in-app = Ouvrez-le dans votre application d’authentification
authenticator-write-down = Notez la clé de secours
authenticator-write-now = Écrivez cette clé sur papier maintenant et gardez-la en lieu sûr.
authenticator-write-why = Si vous perdez votre téléphone, la taper dans une nouvelle application d’authentification fait revenir vos codes. Quiconque la possède peut produire vos codes : ne la gardez ni dans un e-mail ni dans une capture d’écran. Nous ne la montrerons plus.
authenticator-copied = Copiée. Notez-la maintenant.
authenticator-copy-failed = Sélectionnez la clé et copiez-la à la main.
authenticator-copy = Copier la clé
authenticator-show-saved = Montrez que vous l’avez notée
authenticator-type-key = Retapez la clé de secours
authenticator-type-key-hint = Les espaces et les minuscules sont acceptés.
authenticator-code = Le code à 6 chiffres que votre application affiche maintenant
authenticator-bind = Associer l’application
authenticator-is-bound = Une application d’authentification est associée à votre compte. Les connexions et les retraits demandent son code.
authenticator-lost-phone = Téléphone perdu ? Tapez votre clé de secours dans une application d’authentification sur le nouveau : les codes reviennent.
authenticator-change-title = La remplacer ou la retirer
authenticator-change-why = Dans les deux cas, nous vous demandons d’abord de confirmer que c’est bien vous. Les retraits sont ensuite suspendus pour un temps, et votre adresse e-mail est prévenue.
authenticator-change-why-phone = Dans les deux cas, nous vous demandons d’abord de confirmer que c’est bien vous. Les retraits sont ensuite suspendus pour un temps, et votre adresse e-mail et votre téléphone sont prévenus.
authenticator-replace = La remplacer par une nouvelle
authenticator-remove = La retirer
authenticator-remove-last = Sans application d’authentification ni téléphone, seuls votre mot de passe et les codes par e-mail protègent le compte.
authenticator-lead = Une application d’authentification sur votre téléphone produit un nouveau code à 6 chiffres toutes les 30 secondes. Avec elle, un mot de passe volé ne suffit pas pour entrer dans votre compte.
authenticator-start = Configurer une application d’authentification

## phone.html
phone-title = Numéro de téléphone
phone-lead-bound = Votre téléphone est le { $phone }. Un nouveau numéro le remplace et suspend les retraits pendant 24 heures.
phone-lead = Avec un téléphone, vous pouvez recevoir des codes de connexion par SMS ou appel vocal.
phone-sent = Nous avons envoyé un code par SMS au { $to }. Il est valable jusqu’au { $until }.
phone-code = Code reçu par SMS
phone-bind = Associer ce téléphone
phone-send-new = Envoyer un nouveau code
phone-number = Numéro de téléphone
phone-number-hint = Au format international avec l’indicatif du pays, par exemple +33 6 12 34 56 78.
phone-send = Envoyer le code

## withdraw.html
withdraw-title = Retirer
withdraw-requested = Retrait demandé. Référence :
withdraw-held = Le formulaire s’ouvre de nouveau à la fin du blocage.
withdraw-asset = Actif
withdraw-amount = Montant
withdraw-address = Adresse de destination
withdraw-code = Code de votre application d’authentification, ou le code envoyé (inutile si vous avez confirmé que c’est vous ces dernières minutes)
withdraw-submit = Demander le retrait

## activity.html
activity-title = Activité
activity-heading = Activité récente
activity-lead = Si quelque chose ici ne vient pas de vous, changez votre mot de passe tout de suite.
activity-by = par { $who }
activity-none = Rien pour l’instant.

## questions.html
questions-title = Questions de sécurité
questions-lead = Répondez à 2 à 5 de ces questions. Si vous perdez un jour votre second facteur, la personne qui examine une demande de récupération voit dans quelle mesure elle y répond. Elles ne vous connectent jamais à elles seules. Laissez les autres vides.
questions-save = Enregistrer les réponses
account-passkeys = Clés d’accès
account-passkeys-count = { $n ->
        [one] Une clé d’accès
       *[other] { $n } clés d’accès
    }
account-passkeys-none = Aucune pour l’instant. Une clé d’accès vous connecte avec le verrouillage d’écran de votre appareil, et aucun site d’hameçonnage ne peut s’en servir.
account-passkeys-manage = Gérer les clés d’accès
passkeys-title = Clés d’accès
passkeys-lead = Une clé d’accès vit dans votre téléphone, votre ordinateur ou une clé de sécurité, et se déverrouille avec son verrouillage d’écran. C’est le second facteur le plus fort : elle ne fonctionne que sur ce site, donc une page d’hameçonnage ne peut pas s’en servir.
passkeys-added = ajoutée
passkeys-last-used = dernière utilisation
passkeys-never-used = jamais utilisée
passkeys-new-name = Nouveau nom
passkeys-rename = Renommer
passkeys-remove = Retirer
passkeys-remove-named = Retirer la clé d’accès { $name }
passkeys-none = Vous n’avez pas encore de clé d’accès.
passkeys-add-title = Ajouter une clé d’accès
passkeys-full = Vous avez { $n } clés d’accès, le maximum pour un compte. Retirez-en une pour en ajouter une autre.
passkeys-add-why = À côté d’un autre second facteur, une nouvelle clé d’accès suspend les retraits pendant un temps, et votre e-mail et votre téléphone sont prévenus.
passkeys-name = Nom de la clé d’accès
passkeys-name-hint = Par exemple Portable ou Téléphone, de 1 à 64 caractères.
passkeys-add = Créer une clé d’accès
passkeys-confirm-first = Pour ajouter une clé d’accès, confirmez d’abord que c’est vous.
passkeys-confirm = Confirmer que c’est vous
passkeys-done-added = Clé d’accès ajoutée.
passkeys-done-renamed = Clé d’accès renommée.
passkeys-done-removed = Clé d’accès retirée.
