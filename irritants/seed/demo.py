"""The demo: Maison Lumière's organisation and 90 days of history, so every page has something.

The history is played, not faked: every irritant is logged, taken, commented,
escalated, reassigned, swept and resolved through the lifecycle services, in
time order, with explicit times (`now=`), so its events, gaps, due times and
SLA escalations are exactly what the product would have recorded. The SLA sweep
runs every three hours of the simulated time. The e-mails of that past are
written to the outbox as already done (nobody is mailed about last month), and
its in-app notifications carry their own times, read unless they are recent.

Deterministic: the same seed and `now` give the same history.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from irritants.extensions import db
from irritants.models import (
    UNRESOLVED,
    Category,
    Irritant,
    Notification,
    OutboxMessage,
    Unit,
    User,
    utcnow,
)
from irritants.services import access
from irritants.services.errors import ServiceError
from irritants.services.org_admin import ImportReport, import_org

DEMO_ORG_FILE = Path(__file__).with_name("demo_org.json")
HISTORY_DAYS = 90
IRRITANT_COUNT = 300
SWEEP_EVERY = timedelta(hours=3)
DEFAULT_SLA_HOURS = {"critical": 4, "high": 24, "medium": 72, "low": 168}
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DemoReport:
    """What `load_demo` did."""

    org: ImportReport
    irritants_created: int
    statuses: dict[str, int] = field(default_factory=dict)
    skipped_actions: int = 0

    def summary(self) -> str:
        """One line for the command line."""
        if not self.irritants_created:
            history = "history kept (the database already has irritants)"
        else:
            get = self.statuses.get
            history = (
                f"{self.irritants_created} demo irritants over {HISTORY_DAYS} days: "
                f"{get('resolved', 0)} resolved, {get('open', 0)} open, "
                f"{get('in_progress', 0)} in progress ({get('overdue', 0)} of them overdue)"
            )
        return f"Demo loaded. {self.org.summary()} {history}."


def demo_org_data() -> dict[str, Any]:
    """The demo organisation, in routing.md's import format."""
    data: dict[str, Any] = json.loads(DEMO_ORG_FILE.read_text(encoding="utf-8"))
    return data


def organisation_is_empty() -> bool:
    """Whether the database has no unit yet (`demo load --if-empty`)."""
    return not db.session.scalar(select(func.count()).select_from(Unit))


def demo_accounts(one_per_role: bool = True) -> list[dict[str, str]]:
    """The demo accounts with their passwords: the first of each role, or all of them."""
    accounts, seen = [], set()
    for user in demo_org_data()["users"]:
        if one_per_role and user["role"] in seen:
            continue
        seen.add(user["role"])
        accounts.append({key: user[key] for key in ("role", "email", "password", "unit")})
    return accounts


def load_demo(now: datetime | None = None, seed: int = 7) -> DemoReport:
    """Import the demo org (a merge: users' passwords are kept), then play the history into an
    empty one; an existing history is left as it is. Raises InvalidInput from the import."""
    org_report = import_org(demo_org_data())
    if db.session.scalar(select(func.count()).select_from(Irritant)):
        return DemoReport(org=org_report, irritants_created=0)
    now = (now or utcnow()).replace(second=0, microsecond=0)
    history = _History(now, seed)
    with _past_side_effects(history), _fast_commits():
        history.play()
    return DemoReport(org=org_report, irritants_created=history.logged,
                      statuses=_statuses(now), skipped_actions=history.skipped)


def _statuses(now: datetime) -> dict[str, int]:
    rows = db.session.execute(select(Irritant.status, func.count()).group_by(Irritant.status))
    statuses = {status: count for status, count in rows}
    statuses["overdue"] = db.session.scalar(
        select(func.count()).select_from(Irritant)
        .where(Irritant.status != "resolved", Irritant.due_at < now)) or 0
    return statuses


# -- side effects of the past ------------------------------------------------------------


@contextmanager
def _past_side_effects(history: _History) -> Iterator[None]:
    """Outbox e-mails of the past are done, not sent; notifications get the simulated time."""

    def outbox_done(mapper: Any, connection: Any, message: OutboxMessage) -> None:
        message.created_at = history.clock
        message.done_at = history.clock

    def notification_time(mapper: Any, connection: Any, notification: Notification) -> None:
        notification.created_at = history.clock
        if history.clock < history.now - timedelta(days=2):
            notification.read_at = history.clock + timedelta(hours=1)

    event.listen(OutboxMessage, "before_insert", outbox_done)
    event.listen(Notification, "before_insert", notification_time)
    try:
        yield
    finally:
        event.remove(OutboxMessage, "before_insert", outbox_done)
        event.remove(Notification, "before_insert", notification_time)


@contextmanager
def _fast_commits() -> Iterator[None]:
    """Commits that do not wait for the disk while the history is played.

    SQLite: WAL with synchronous=NORMAL; PostgreSQL: synchronous_commit off. Neither
    can corrupt the database; a power cut could only lose the last demo transactions.
    Each connection gets its usual setting back when it returns to the pool.
    """
    engine = db.engine
    settings = {
        "sqlite": ("PRAGMA synchronous=NORMAL", "PRAGMA synchronous=FULL"),
        "postgresql": ("SET synchronous_commit TO off", "RESET synchronous_commit"),
    }.get(engine.dialect.name)
    if settings is None:
        yield
        return
    fast, usual = settings

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        _run(dbapi_connection, fast)

    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            _run(dbapi_connection, usual)

    db.session.commit()  # the next transaction checks a connection out through on_checkout
    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    try:
        yield
    finally:
        db.session.commit()
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)


def _run(dbapi_connection: Any, statement: str) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()
    if not getattr(dbapi_connection, "autocommit", True):
        dbapi_connection.commit()  # psycopg opened a transaction for the SET: end it


# -- the history ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A product's name and its gender: the French words around it agree with it."""

    name: str
    feminine: bool

    def words(self) -> dict[str, str]:
        """The placeholders of DESCRIPTIONS: the name with its articles and possessives
        ("l’" and "son" before a vowel, "du" for "de le"), and the agreeing endings."""
        vowel = self.name[0] in "aeiouéè"  # no product starts with an h
        feminine, name = self.feminine, self.name
        return {
            "product": name,
            "the_product": f"l’{name}" if vowel else f"la {name}" if feminine else f"le {name}",
            "of_the_product": (f"de l’{name}" if vowel else f"de la {name}" if feminine
                               else f"du {name}"),
            "a_product": f"une {name}" if feminine else f"un {name}",
            "of_a_product": f"d’une {name}" if feminine else f"d’un {name}",
            "their_product": f"sa {name}" if feminine and not vowel else f"son {name}",
            "e": "e" if feminine else "",  # a past participle's agreement: achetée, acheté
            "faulty": "défectueuse" if feminine else "défectueux",
        }


PRODUCTS = (
    Product("lampe de chevet en laiton", feminine=True),
    Product("lampadaire arc", feminine=False),
    Product("guirlande LED de 10 m", feminine=True),
    Product("ampoule connectée E27", feminine=True),
    Product("applique murale en verre", feminine=True),
    Product("suspension en rotin", feminine=True),
    Product("lampe de bureau articulée", feminine=True),
    Product("plafonnier LED", feminine=False),
    Product("abat-jour en lin", feminine=False),
    Product("veilleuse enfant", feminine=True),
    Product("projecteur solaire d’extérieur", feminine=False),
    Product("lampe baladeuse", feminine=True),
    Product("miroir lumineux", feminine=False),
    Product("bougie LED", feminine=True),
)
PRICES = (14.9, 19.9, 24.9, 34.9, 49.9, 69.0, 89.0, 129.0, 189.0, 249.0, 349.0, 459.0)
CARRIERS = ("Colissimo", "Chronopost", "DPD", "GLS", "Relais Colis")

# French texts: the space before ":" and inside « » is a no-break one (\u00a0), the narrow
# \u202f before ";", as in the catalogue, so that no line starts with the punctuation.
# A product goes in through Product.words(): "{the_product} acheté{e}" reads "La lampe
# achetée" or "Le miroir acheté" (sentence_of capitalises the start).
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "late-delivery": (
        "Commande {order} annoncée pour le {day}, toujours pas livrée. Le suivi {carrier} "
        "n’a pas bougé depuis {days} jours.",
        "La cliente attendait {their_product} pour un cadeau d’anniversaire\u00a0: livraison "
        "{carrier} en retard de {days} jours, aucune information.",
        "Retrait en magasin prévu le {day}\u00a0: le colis de la commande {order} n’est pas "
        "arrivé, le client s’est déplacé pour rien.",
        "Livraison express payée (commande {order}) mais reçue avec {days} jours de retard\u202f; "
        "le client demande le remboursement des frais de port.",
    ),
    "damaged-parcel": (
        "Colis {carrier} reçu écrasé, {the_product} est cassé{e} (commande {order}).",
        "Le carton était ouvert à la livraison, il manque une pièce {of_the_product}.",
        "{the_product} est arrivé{e} le verre brisé\u202f; le client a des photos du colis.",
    ),
    "faulty-product": (
        "{the_product} acheté{e} il y a {days} jours ne s’allume plus.",
        "{product}\u00a0: l’interrupteur est resté bloqué dès la première utilisation.",
        "Le client rapporte {a_product} qui grésille et chauffe anormalement.",
        "Deuxième {product} {faulty} du même lot en une semaine pour ce client.",
    ),
    "refund-refused": (
        "Remboursement refusé en caisse pour {a_product} rapporté{e} sous {days} jours\u00a0: "
        "le client n’a plus son ticket.",
        "Le client voulait être remboursé de {their_product} et non recevoir un avoir\u202f; "
        "refus du magasin, il est très mécontent.",
        "Retour {of_a_product} acheté{e} en ligne refusé en magasin\u00a0: «\u00a0pas de "
        "terminal de remboursement ici\u00a0».",
        "Produit soldé rapporté\u00a0: remboursement refusé alors que l’étiquette ne mentionnait "
        "aucune restriction.",
    ),
    "billing-error": (
        "Le client a été débité deux fois pour sa commande {order}.",
        "Prix en rayon {of_the_product}\u00a0: {price} €, facturé plus cher en caisse.",
        "Promotion «\u00a0-20\u00a0% sur l’éclairage\u00a0» non appliquée sur le ticket.",
        "Frais de livraison facturés alors que la commande {order} dépassait le seuil de "
        "gratuité.",
    ),
    "app-crash": (
        "L’application se ferme au moment de payer le panier (iPhone, dernière version).",
        "Impossible d’afficher la carte de fidélité dans l’application\u00a0: écran blanc.",
        "L’application plante à l’ouverture depuis la mise à jour d’hier (Android).",
        "Le scan du code-barres en magasin fait planter l’application.",
    ),
    "long-queue": (
        "{minutes} minutes d’attente en caisse un samedi, une seule caisse ouverte.",
        "File d’attente au retrait des commandes\u00a0: {minutes} minutes, le client est reparti.",
        "Caisse automatique en panne, {minutes} minutes d’attente aux caisses classiques.",
    ),
    "unwelcoming-service": (
        "Le client s’est senti ignoré au rayon luminaires, personne pour le conseiller.",
        "Réponse sèche d’un vendeur à une question sur la garantie {of_the_product}.",
        "Accueil téléphonique du magasin désagréable, on a raccroché au nez de la cliente.",
    ),
    "missing-stock": (
        "{product} affiché{e} disponible sur le site mais introuvable en magasin.",
        "Rupture de stock {of_the_product} depuis {days} jours, le client est venu deux fois.",
        "Réservation en ligne confirmée puis annulée faute de stock pour {a_product}.",
    ),
    "loyalty-points": (
        "Les points de l’achat du {day} ({points} points) n’ont pas été crédités.",
        "Bon de fidélité de {amount} € expiré alors que le client n’a jamais reçu l’e-mail.",
        "Carte de fidélité non reconnue en caisse, points perdus sur un achat de {price} €.",
    ),
}


def sentence_of(template: str, product: Product, **values: Any) -> str:
    """A description: the template filled with the product's agreeing words and the values,
    starting with a capital ("{product} affiché{e}..." reads "Miroir lumineux affiché...")."""
    text = template.format(**product.words(), **values)
    return text[:1].upper() + text[1:]


COMMENTS = (
    "Client rappelé\u00a0: il attend une réponse sous 48 h.",
    "Photos demandées au client, en attente de réception.",
    "Relance envoyée au transporteur ce matin.",
    "Vu avec le responsable du magasin, on regarde les plannings.",
    "Client très mécontent, il menace de publier un avis\u00a0: à traiter en priorité.",
    "Dossier complété avec le numéro de commande et le ticket de caisse.",
    "Même souci signalé la semaine dernière dans ce magasin.",
    "Le client préfère être recontacté par e-mail.",
)
RESOLUTIONS: dict[str, tuple[str, ...]] = {
    "late-delivery": ("Colis retrouvé chez le transporteur et livré\u202f; geste commercial "
                      "accordé.",
                      "Nouvelle expédition en express\u202f; frais de port remboursés."),
    "damaged-parcel": ("Produit remboursé et réclamation ouverte auprès du transporteur.",
                       "Produit renvoyé en échange standard, emballage renforcé."),
    "faulty-product": ("Produit échangé en magasin.", "Produit remboursé sur le moyen de "
                       "paiement d’origine\u202f; lot signalé au fournisseur."),
    "refund-refused": ("Remboursement accordé à titre exceptionnel.",
                       "Avoir remplacé par un remboursement\u202f; rappel de la politique aux "
                       "équipes."),
    "billing-error": ("Trop-perçu remboursé au client.", "Prix corrigé en caisse et "
                      "différence remboursée."),
    "app-crash": ("Correctif publié dans la version suivante\u202f; client prévenu.",
                  "Contournement donné au client, anomalie corrigée."),
    "long-queue": ("Caisse supplémentaire ouverte aux heures de pointe\u202f; excuses au client.",
                   "Planning du samedi revu avec l’équipe."),
    "unwelcoming-service": ("Excuses présentées au client, point fait avec l’équipe.",
                            "Bon d’achat offert et rappel des règles d’accueil."),
    "missing-stock": ("Produit réservé et mis de côté à l’arrivée du réassort.",
                      "Produit expédié depuis l’entrepôt au domicile du client."),
    "loyalty-points": ("Points crédités manuellement.", "Bon de fidélité réémis."),
}
ESCALATION_REASONS = {
    "authority": "Montant au-delà de notre plafond, il faut un niveau au-dessus.",
    "tool": "Nous n’avons pas l’outil nécessaire pour traiter ce dossier.",
    "competency": "Hors de notre périmètre, nous n’avons pas la compétence.",
}
REASSIGN_TARGETS = {
    "late-delivery": "relations-transporteurs", "damaged-parcel": "relations-transporteurs",
    "billing-error": "comptabilite-clients", "refund-refused": "litiges",
    "faulty-product": "litiges", "app-crash": "support-appli", "missing-stock": "entrepot-lens",
    "loyalty-points": "fidelite", "long-queue": "reseau", "unwelcoming-service": "reseau",
}
# Who reports what: category weights by kind of reporter.
CATEGORIES_BY_DESK = {
    "store": {"long-queue": 14, "unwelcoming-service": 9, "faulty-product": 16,
              "refund-refused": 14, "missing-stock": 14, "billing-error": 9,
              "loyalty-points": 6, "late-delivery": 6},
    "phone": {"late-delivery": 22, "damaged-parcel": 12, "billing-error": 14,
              "refund-refused": 9, "loyalty-points": 8, "faulty-product": 10,
              "unwelcoming-service": 6, "missing-stock": 4},
    "online": {"app-crash": 22, "late-delivery": 16, "loyalty-points": 12,
               "billing-error": 10, "damaged-parcel": 8, "missing-stock": 6},
}
SEVERITY_WEIGHTS = {"low": 25, "medium": 45, "high": 22, "critical": 8}


@dataclass(frozen=True)
class _Person:
    """What the access rules read of a user, kept out of the session (commits expire rows)."""

    id: int
    email: str
    role: str
    unit_id: int


@dataclass(frozen=True)
class _Kind:
    """What the history reads of a category, kept out of the session."""

    id: int
    key: str
    authority: str | None
    tools: list[str]
    sla_hours: dict[str, Any]
    root_causes: list[str]


@dataclass(order=True)
class _Action:
    at: datetime
    number: int
    run: Callable[[], None] = field(compare=False)
    is_sweep: bool = field(default=False, compare=False)


class _History:
    """A clock, a queue of actions in time order, and the people who act."""

    def __init__(self, now: datetime, seed: int) -> None:
        self.now = now
        self.clock = now - timedelta(days=HISTORY_DAYS)
        self.rng = random.Random(seed)
        self.queue: list[_Action] = []
        self.numbers = iter(range(1 << 62))
        self.logged = 0
        self.skipped = 0
        self.users = {
            user.email: _Person(user.id, user.email, user.role, user.unit_id)
            for user in db.session.scalars(select(User).order_by(User.id))
        }
        self.unit_ids = {u.key: u.id for u in db.session.scalars(select(Unit))}
        self.parents = {unit["key"]: unit["parent"] for unit in demo_org_data()["units"]}
        self.categories = {
            c.key: _Kind(c.id, c.key, c.authority, list(c.tools or []), dict(c.sla_hours or {}),
                         [cause["key"] for cause in c.root_causes or []])
            for c in db.session.scalars(select(Category))
        }
        self.category_keys = {kind.id: kind.key for kind in self.categories.values()}
        self.shortest_sla = timedelta(hours=min(
            [*DEFAULT_SLA_HOURS.values(),
             *(hours for kind in self.categories.values() for hours in kind.sla_hours.values())]))
        # Every unresolved irritant is due at or after the horizon.
        self.horizon = NEVER
        self.stores = sorted(key for key, unit in self._units().items()
                             if "pos" in unit["tools"] and not key.endswith("-sav"))

    def _units(self) -> dict[str, dict[str, Any]]:
        return {unit["key"]: unit for unit in demo_org_data()["units"]}

    # -- the loop -------------------------------------------------------------

    def at(self, moment: datetime, run: Callable[[], None], is_sweep: bool = False) -> None:
        if moment < self.now:
            heapq.heappush(self.queue, _Action(moment, next(self.numbers), run, is_sweep))

    def play(self) -> None:
        sweep = self.clock + SWEEP_EVERY
        while sweep < self.now - timedelta(minutes=90):
            self.at(sweep, self._sweeper(sweep), is_sweep=True)
            sweep += SWEEP_EVERY
        self._plan_irritants()
        while self.queue:
            action = heapq.heappop(self.queue)
            self.clock = action.at
            if not action.is_sweep:
                # Whatever it does, no due time it sets is earlier than this.
                self.horizon = min(self.horizon, action.at + self.shortest_sla)
            try:
                action.run()
            except ServiceError:
                db.session.rollback()
                self.skipped += 1

    def _sweeper(self, moment: datetime) -> Callable[[], None]:
        from irritants.services.escalation import sweep_overdue

        def sweep() -> None:
            # Nothing can be overdue before the horizon: no sweep, no empty transaction.
            if moment <= self.horizon:
                return
            sweep_overdue(moment)
            earliest = db.session.scalar(
                select(func.min(Irritant.due_at)).where(Irritant.status.in_(UNRESOLVED)))
            self.horizon = earliest or NEVER

        return sweep

    # -- planning ---------------------------------------------------------------

    def _plan_irritants(self) -> None:
        rng = self.rng
        for _number in range(IRRITANT_COUNT):
            # Denser towards today: the product is in use and growing.
            days_ago = HISTORY_DAYS * rng.random() ** 1.4
            moment = self.now - timedelta(days=days_ago)
            moment = moment.replace(hour=rng.randint(7, 18), minute=rng.randrange(60))
            if moment >= self.now - timedelta(minutes=20):
                moment = self.now - timedelta(minutes=rng.randint(20, 300))
            self.at(moment, self._logger(self._new_case(), overdue=False))
        # A few critical ones logged just long enough ago to be overdue now.
        for case_hours, category in ((2, "app-crash"), (4, "late-delivery"),
                                     (4, "refund-refused")):
            case = self._new_case(category=category, severity="critical")
            moment = self.now - timedelta(hours=case_hours, minutes=rng.randint(15, 60))
            self.at(moment, self._logger(case, overdue=True))

    def _new_case(self, category: str | None = None, severity: str | None = None
                  ) -> dict[str, Any]:
        rng = self.rng
        reporter, desk, topic, origin = self._reporter()
        weights = CATEGORIES_BY_DESK[topic]
        category = category or rng.choices(list(weights), list(weights.values()))[0]
        if severity is None:
            severity = rng.choices(list(SEVERITY_WEIGHTS), list(SEVERITY_WEIGHTS.values()))[0]
            if category == "app-crash" and severity == "low":
                severity = "high"
        amount = self._amount(category)
        return {
            "reporter": reporter, "category": category, "severity": severity,
            "origin": origin, "amount": amount,
            "description": self._description(category, amount),
            "customer_ref": f"C-{rng.randint(100000, 999999)}" if rng.random() < 0.85 else None,
            "channel": self._channel(desk, category),
        }

    def _reporter(self) -> tuple[_Person, str, str, str]:
        """Who logs it, from which desk, about what kind of thing, and the origin unit."""
        rng = self.rng
        agents = [u for u in self.users.values() if u.role == "agent"]
        store_agents = [u for u in agents if self._key(u.unit_id) in self.stores]
        roll = rng.random()
        if roll < 0.5:
            user = rng.choice(store_agents)
            return user, "store", "store", self._key(user.unit_id)
        desk_unit = "centre-appels" if roll < 0.75 else "service-en-ligne"
        desk = "phone" if desk_unit == "centre-appels" else "online"
        user = rng.choice([u for u in agents if self._key(u.unit_id) == desk_unit])
        if rng.random() < 0.45:
            # A complaint about a store visit names the store as the origin.
            return user, desk, "store", rng.choice(self.stores)
        return user, desk, desk, desk_unit

    def _amount(self, category: str) -> float | None:
        rng = self.rng
        if category == "late-delivery":
            return float(rng.choice((10, 15, 20, 30, 50, 80, 120, 180, 250)))
        if category in ("damaged-parcel", "faulty-product", "refund-refused"):
            return rng.choice(PRICES)
        if category == "billing-error":
            return round(rng.uniform(4, 420), 2)
        if category == "loyalty-points":
            return float(rng.choice((5, 10, 15, 30, 50, 80, 120, 250, 400)))
        if category in ("long-queue", "unwelcoming-service"):
            return float(rng.choice((10, 20))) if rng.random() < 0.3 else None
        return None

    def _description(self, category: str, amount: float | None) -> str:
        rng = self.rng
        day = (self.now - timedelta(days=rng.randint(2, 20))).strftime("%d/%m")
        # The draws in their historical order, so that a seed still plays the same demo.
        template = rng.choice(DESCRIPTIONS[category])
        order, product = f"CMD-{rng.randint(1000000, 9999999)}", rng.choice(PRODUCTS)
        return sentence_of(
            template, product, order=order, carrier=rng.choice(CARRIERS),
            days=rng.randint(2, 12), day=day, minutes=rng.choice((20, 25, 30, 40, 45)),
            price=f"{rng.choice(PRICES):.2f}", amount=f"{amount or 10:.0f}",
            points=int((amount or 10) * 10),
        )

    def _channel(self, desk: str, category: str) -> str:
        if category == "app-crash":
            return "app"
        if desk == "phone":
            return "phone"
        if desk == "online":
            return self.rng.choice(("chat", "email", "social", "web"))
        return "store"

    # -- one irritant's life ----------------------------------------------------------

    def _logger(self, case: dict[str, Any], overdue: bool) -> Callable[[], None]:
        def log() -> None:
            from irritants.services.intake import log_irritant

            logged_at = self.clock
            irritant = log_irritant(
                self._user(case["reporter"]), category=case["category"], severity=case["severity"],
                description=case["description"],
                amount=None if case["amount"] is None else Decimal(str(case["amount"])),
                origin_unit=case["origin"], customer_ref=case["customer_ref"],
                channel=case["channel"], now=logged_at,
            )
            self.logged += 1
            self._plan_life(irritant.id, case, logged_at, overdue)
        return log

    def _plan_life(self, irritant_id: int, case: dict[str, Any], logged_at: datetime,
                   overdue: bool) -> None:
        rng = self.rng
        hours = self._sla_hours(case["category"], case["severity"])
        take_at = logged_at + timedelta(hours=hours * rng.uniform(0.03, 0.25))
        if rng.random() < 0.85:
            self.at(take_at, lambda: self._take(irritant_id))
        if overdue:
            return
        late = rng.random() < 0.2
        resolve_after = hours * (rng.uniform(1.15, 2.6) if late else rng.uniform(0.3, 0.95))
        resolve_at = logged_at + timedelta(hours=resolve_after)
        span = (min(resolve_at, self.now) - logged_at).total_seconds()

        def during(low: float, high: float) -> datetime:
            return logged_at + timedelta(seconds=span * rng.uniform(low, high))

        for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 3))):
            self.at(during(0.1, 0.95), lambda: self._comment(irritant_id))
        if rng.random() < 0.12:
            self.at(during(0.2, 0.9), lambda: self._occur_again(irritant_id))
        roll = rng.random()
        if roll < 0.1:
            self.at(during(0.3, 0.6), lambda: self._escalate(irritant_id))
        elif roll < 0.16:
            self.at(during(0.3, 0.6), lambda: self._reassign(irritant_id))
        self.at(resolve_at, lambda: self._resolve(irritant_id))

    def _sla_hours(self, category: str, severity: str) -> float:
        hours = self.categories[category].sla_hours
        return float(hours.get(severity, DEFAULT_SLA_HOURS[severity]))

    # -- the people who act ------------------------------------------------------------

    def _irritant(self, irritant_id: int) -> Irritant | None:
        irritant = db.session.get(Irritant, irritant_id)
        return None if irritant is None or irritant.status == "resolved" else irritant

    def _key(self, unit_id: int) -> str:
        return next(key for key, value in self.unit_ids.items() if value == unit_id)

    def _user(self, person: _Person) -> User:
        user = db.session.get(User, person.id)
        assert user is not None
        return user

    def _people(self, check: Callable[[Any, Irritant], bool], irritant: Irritant,
                roles: tuple[str, ...]) -> list[_Person]:
        return [person for person in self.users.values()
                if person.role in roles and check(person, irritant)]

    def _nearest_lead(self, irritant: Irritant, check: Callable[[Any, Irritant], bool]
                      ) -> User:
        """The lead of the closest unit above the assignee, else a director."""
        key: str | None = self._key(irritant.assignee_id)
        while key is not None:
            leads = [person for person in self.users.values()
                     if person.role == "lead" and person.unit_id == self.unit_ids[key]
                     and check(person, irritant)]
            if leads:
                return self._user(leads[0])
            key = self.parents[key]
        return self._user(next(p for p in self.users.values() if p.role == "director"))

    def _take(self, irritant_id: int) -> None:
        from irritants.services.resolution import take_irritant

        irritant = self._irritant(irritant_id)
        if irritant is None or irritant.status != "open":
            return
        people = self._people(access.may_take, irritant, ("agent", "lead"))
        if people:
            take_irritant(irritant_id, actor=self._user(self.rng.choice(people)),
                          now=self.clock)

    def _comment(self, irritant_id: int) -> None:
        from irritants.services.resolution import comment_on

        irritant = self._irritant(irritant_id)
        if irritant is None:
            return
        actor = (irritant.reporter if self.rng.random() < 0.4 and irritant.reporter
                 else self._nearest_lead(irritant, access.may_comment))
        comment_on(irritant_id, actor=actor, text=self.rng.choice(COMMENTS), now=self.clock)

    def _occur_again(self, irritant_id: int) -> None:
        from irritants.services.intake import add_occurrence

        irritant = self._irritant(irritant_id)
        if irritant is None or irritant.reporter is None:
            return
        add_occurrence(irritant_id, actor=irritant.reporter,
                       customer_ref=f"C-{self.rng.randint(100000, 999999)}", now=self.clock)

    def _escalate(self, irritant_id: int) -> None:
        from irritants.services.escalation import escalate_irritant

        irritant = self._irritant(irritant_id)
        if irritant is None:
            return
        category = self.categories[self._category_key(irritant)]
        if category.authority and irritant.amount:
            kind = "authority"
            needs: dict[str, Any] = {"authorities": {
                category.authority: int(irritant.amount * 2) + 50}}
        elif category.tools:
            kind, needs = "tool", {"tools": list(category.tools)}
        else:
            kind, needs = "competency", {"competencies": ["policy"]}
        escalate_irritant(irritant_id, actor=self._nearest_lead(irritant, access.may_escalate),
                          reason=ESCALATION_REASONS[kind], needs=needs, now=self.clock)

    def _reassign(self, irritant_id: int) -> None:
        from irritants.services.escalation import reassign_irritant

        irritant = self._irritant(irritant_id)
        if irritant is None:
            return
        target = REASSIGN_TARGETS[self._category_key(irritant)]
        if self.unit_ids[target] == irritant.assignee_id:
            target = "litiges" if target != "litiges" else "service-client"
        reassign_irritant(irritant_id, actor=self._nearest_lead(irritant, access.may_reassign),
                          unit=target, reason="Équipe spécialisée sur ce type de dossier.",
                          now=self.clock)

    def _resolve(self, irritant_id: int) -> None:
        from irritants.services.resolution import resolve_irritant

        irritant = self._irritant(irritant_id)
        if irritant is None:
            return
        taker = irritant.taken_by
        actor = (taker if taker is not None and access.may_resolve(taker, irritant)
                 else self._nearest_lead(irritant, access.may_resolve))
        category = self.categories[self._category_key(irritant)]
        causes = category.root_causes
        # The first causes of each list are the usual ones.
        cause = self.rng.choices(causes, [len(causes) - i for i in range(len(causes))])[0]
        resolve_irritant(
            irritant_id, actor=actor, resolution=self.rng.choice(RESOLUTIONS[category.key]),
            root_cause=cause,
            root_cause_detail="Cas particulier, voir les commentaires." if cause == "other"
            else None,
            now=self.clock,
        )

    def _category_key(self, irritant: Irritant) -> str:
        return self.category_keys[irritant.category_id]

