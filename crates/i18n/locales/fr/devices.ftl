# Confirmation des nouveaux appareils. Voir locales/en/devices.ftl.

## Le courriel « C’était vous ? ».
mail-device-confirm-subject = C’était vous ? Une connexion depuis un nouvel appareil
mail-device-confirm-body =
    Quelqu’un s’est connecté à votre compte { $app } avec votre mot de passe et votre second facteur, depuis un appareil jamais utilisé jusqu’ici :

    Navigateur : { $browser }
    IP : { $ip }
    Heure : { $time }

    Si c’était vous, approuvez cette connexion (le lien expire dans { $minutes ->
            [one] { $minutes } minute
           *[other] { $minutes } minutes
        }) :
    { $approve }

    Si ce n’était pas vous, refusez-la. Votre compte est alors gelé aussitôt : personne ne peut se connecter ni retirer, et toutes les sessions prennent fin, jusqu’à ce que vous le récupériez ou que notre équipe l’examine. Changez ensuite votre mot de passe.
    { $deny }
mail-device-setting-subject = Confirmation des nouveaux appareils modifiée
mail-device-setting-on-body = Les connexions à votre compte { $app } depuis un nouvel appareil demandent désormais votre accord par courriel.
mail-device-setting-off-body = Les connexions à votre compte { $app } depuis un nouvel appareil ne demandent plus votre accord par courriel. Si vous n’avez pas fait ce changement, quelqu’un est connecté à votre compte : gelez-le ou changez votre mot de passe maintenant.

## Un navigateur en mots.
device-browser-on = { $browser } sous { $system }
device-browser-unknown = un navigateur inconnu
device-browser-other = une autre application ou un autre navigateur

## Lieux déduits de la seule adresse IP (aucune base de géolocalisation).
device-place-this-computer = cet ordinateur
device-place-private-network = un réseau privé

## L’étape d’attente de la connexion.
device-wait-title = Confirmez ce nouvel appareil
device-wait-lead = Ce navigateur ne s’est jamais connecté à votre compte. Nous avons envoyé un courriel à votre adresse : ouvrez-le et approuvez cette connexion.
device-wait-how = Une fois la connexion approuvée, revenez ici et continuez.
device-wait-continue = Je l’ai approuvée, continuer
device-wait-not-yet = Le courriel n’a pas encore été approuvé. Ouvrez-le, approuvez la connexion, puis continuez.
device-wait-not-you = Si ce n’était pas vous, refusez depuis le courriel : votre compte est alors gelé.

## La page du lien du courriel.
device-confirm-title = C’était vous ?
device-confirm-lead = Quelqu’un s’est connecté à votre compte depuis un nouvel appareil. N’approuvez que si c’était vous.
device-browser = Navigateur
device-ip = Adresse IP
device-when = Heure
device-confirm-approve = Oui, c’était moi
device-confirm-deny = Non, geler mon compte
device-confirm-deny-why = Refuser met fin à cette connexion et gèle votre compte : personne ne peut se connecter ni retirer jusqu’à ce que vous le récupériez ou que notre équipe l’examine.
device-confirm-approved = Connexion approuvée. Revenez à la fenêtre où vous vous êtes connecté et continuez.
device-confirm-denied = Connexion refusée. Votre compte est gelé et toutes les sessions ont pris fin. Quelqu’un connaît votre mot de passe et votre second facteur.
device-confirm-gone = Cette connexion a déjà reçu une réponse ou a expiré.

## Les appareils du compte.
devices-title = Appareils
devices-why = Navigateurs et applications connectés à votre compte.
devices-view = Voir les appareils
devices-lead = Chaque navigateur ou application qui s’est connecté à votre compte. Déconnectez celui que vous n’utilisez plus ; oubliez celui que vous ne reconnaissez pas, pour que sa prochaine connexion demande votre accord par courriel.
devices-place-note = Le lieu n’est indiqué que lorsque l’adresse elle-même le dit (cet ordinateur, un réseau privé) ; sinon seule l’adresse IP est affichée.
devices-this-one = cet appareil
devices-unconfirmed = non approuvé
devices-first-seen = Vu la première fois
devices-last-seen = vu la dernière fois
devices-sign-out = Déconnecter cet appareil
devices-forget = L’oublier
devices-done-signed-out = Cet appareil est déconnecté.
devices-done-forgotten = Cet appareil est oublié : sa prochaine connexion demandera votre accord par courriel.
devices-done-setting = Enregistré. Votre adresse et votre téléphone ont été prévenus.
devices-setting-title = Confirmation des nouveaux appareils
devices-setting-on = Les connexions depuis un nouvel appareil demandent votre accord par courriel.
devices-setting-off = Les connexions depuis un nouvel appareil ne demandent pas votre accord par courriel.
devices-setting-turn-on = Activer
devices-setting-turn-off = Désactiver
devices-setting-staff = Les comptes de l’équipe confirment toujours les nouveaux appareils.
devices-back = Retour au compte

## Mots du journal.
audit-second-factor-ok = Second facteur accepté, nouvel appareil à confirmer
audit-device-confirmation-sent = Confirmation de nouvel appareil envoyée par courriel
audit-device-confirmed = Nouvel appareil approuvé depuis le courriel
audit-device-denied = Nouvel appareil refusé depuis le courriel
audit-device-signed-out = Appareil déconnecté
audit-device-forgotten = Appareil oublié
audit-device-confirmation-setting = Confirmation des nouveaux appareils modifiée
