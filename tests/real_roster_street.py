"""The street: estates filled with whole buildings, the households in them, their family links.

:class:`Builder` fills 居民区 after 居民区 of :data:`real_roster_forms.COMMUNITIES`
with buildings in which every flat of every floor holds a household (old
非成套 buildings sometimes two behind one room number, some families two
flats), cuts each 居民区 into 微网格 of whole buildings, and makes the family
links and coincidences that give look-alikes: siblings upstairs with their
parents' phone, a parent and an adult child registered apart in one flat,
one owner of two flats, namesakes next door, the same room number in the
next building.  Plain Python: nothing here imports visitlog.
"""

from __future__ import annotations

import random
from collections import defaultdict
from itertools import combinations

from real_roster_forms import COMMUNITIES, Community, Estate, is_landline
from real_roster_model import TODAY, Building, TrueHousehold, Weights
from real_roster_people import People

_OCCUPANCY = Weights({"自住": 76, "出租": 12, "空置": 4, "人户分离": 8})


class Builder:
    """Makes the true households of a street from one seeded random source.

    Attributes:
        households: every household made, in building order (ids are indexes).
        buildings: every building, whole.
        lookalikes: (smaller id, larger id) → look-alike class; the first
            label a pair gets is kept.
        related: households already given a family link (not reused for another).
        children: heads whose contact phone is their parents'.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self.people = People(self.rng)
        self.households: list[TrueHousehold] = []
        self.buildings: list[Building] = []
        self.lookalikes: dict[tuple[int, int], str] = {}
        self.related: set[int] = set()
        self.children: set[int] = set()

    # -- households --------------------------------------------------------------------

    def household(
        self,
        community: Community,
        estate: Estate,
        building: int,
        floor: int,
        rooms: tuple[str, ...],
        *,
        old: bool | None = None,
        surname: str | None = None,
    ) -> TrueHousehold:
        """A new household in *rooms*; *old* and *surname* are drawn unless given."""
        rng, people = self.rng, self.people
        if old is None:
            old = rng.random() < 0.55
        age = int(rng.triangular(60, 96, 72)) if old else rng.randint(28, 59)
        sex = "F" if rng.random() < (0.6 if old else 0.45) else "M"
        head = people.name(sex, old, surname)
        if old:
            r = rng.random()
            members = 1 if r < 0.28 else 2 if r < 0.65 else rng.choice((3, 3, 4, 5))
        else:
            members = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
        spouse = None
        if members >= 2 and rng.random() < 0.8:
            spouse = people.name("M" if sex == "F" else "F", old)
        occupancy = _OCCUPANCY.pick(rng)
        h = TrueHousehold(
            id=len(self.households),
            community=community.name,
            grid="",
            estate=estate.name,
            building=building,
            floor=floor,
            rooms=rooms,
            head=head,
            sex=sex,
            age=age,
            spouse=spouse,
            members=0 if occupancy == "空置" else members,
            occupancy=occupancy,
            tags=(),
            phones=(),
            id_number=people.id_number(people.birth_date(age, TODAY), sex),
        )
        self._phones(h)
        self._tags(h)
        self.households.append(h)
        return h

    def _phones(self, h: TrueHousehold) -> None:
        rng, people = self.rng, self.people
        r = rng.random()
        if h.occupancy == "空置":
            h.phones = (people.mobile(),) if r < 0.6 else ()
        elif h.old:
            # Many elderly households have only the flat's landline.
            if r < 0.38:
                h.phones = (people.landline(),)
            elif r < 0.65:
                h.phones = (people.landline(), people.mobile())
            elif r < 0.90:
                h.phones = (people.mobile(),)
            else:
                h.phones = ()
        elif r < 0.82:
            h.phones = (people.mobile(),)
        elif r < 0.88:
            h.phones = (people.mobile(), people.landline())
        elif r < 0.92:
            h.phones = (people.landline(),)
        else:
            h.phones = ()

    def _tags(self, h: TrueHousehold) -> None:
        if h.occupancy == "空置":
            h.tags = ()
            return
        rng = self.rng
        tags: list[str] = []
        if h.old and h.members == 1 and rng.random() < 0.9:
            tags.append("独居老人")
        if h.old and h.members == 2 and h.spouse and rng.random() < 0.8:
            tags.append("纯老家庭")
        if h.age >= 80:
            tags.append("高龄")
        for tag, p, old_only in (
            ("失能失智", 0.04, True),
            ("残疾", 0.035, False),
            ("低保", 0.02, False),
            ("低收入", 0.01, False),
            ("困难人员", 0.01, False),
            ("特困", 0.002, False),
            ("优抚对象", 0.02, True),
            ("计划生育特殊家庭", 0.01, True),
        ):
            if (h.old or not old_only) and rng.random() < p:
                tags.append(tag)
        if not h.old and h.members >= 3 and rng.random() < 0.01:
            tags.append("困境儿童")
        h.tags = tuple(tags)

    def _reperson(self, h: TrueHousehold, name: str, sex: str, age: int) -> None:
        """Make *h* headed by someone else (a sibling, an adult child, a namesake)."""
        h.head, h.sex, h.age = name, sex, age
        h.id_number = self.people.id_number(self.people.birth_date(age, TODAY), sex)
        self._tags(h)

    def _label(self, a: TrueHousehold, b: TrueHousehold, cls: str) -> None:
        key = (min(a.id, b.id), max(a.id, b.id))
        self.lookalikes.setdefault(key, cls)

    def _relate(self, a: TrueHousehold, rel_a: str, b: TrueHousehold, rel_b: str) -> None:
        a.relations.append((rel_a, b.id))
        b.relations.append((rel_b, a.id))
        self.related.update((a.id, b.id))

    # -- buildings -----------------------------------------------------------------------

    def building(self, community: Community, estate: Estate, number: int) -> list[TrueHousehold]:
        """One whole building of *estate*, with the look-alikes it happens to hold."""
        rng = self.rng
        old_style = estate.old and rng.random() < 0.25
        floors = rng.randint(5, 7)
        flats = rng.randint(4, 6) if old_style else rng.randint(2, 6)
        self.buildings.append(Building(estate.name, number, floors, flats, old_style))
        out: list[TrueHousehold] = []
        for floor in range(1, floors + 1):
            unit = 1
            while unit <= flats:
                room = f"{floor}{unit:02d}"
                if unit < flats and not old_style and rng.random() < 0.05:
                    # A family holding two flats side by side.
                    rooms = (room, f"{floor}{unit + 1:02d}")
                    out.append(self.household(community, estate, number, floor, rooms))
                    unit += 2
                    continue
                if old_style and rng.random() < 0.35:
                    a = self.household(community, estate, number, floor, (room,), old=True)
                    b = self.household(community, estate, number, floor, (room,))
                    self._relate(a, "shares_room", b, "shares_room")
                    self._label(a, b, "shared_room")
                    out += (a, b)
                elif rng.random() < 0.02:
                    self._parent_and_child(community, estate, number, floor, room, out)
                else:
                    out.append(self.household(community, estate, number, floor, (room,)))
                unit += 1
        if rng.random() < 0.25:
            self._siblings(out)
        if rng.random() < 0.15:
            self._owner_of_two(out)
        if rng.random() < 0.10:
            self._same_name(out)
        return out

    def _parent_and_child(
        self,
        community: Community,
        estate: Estate,
        number: int,
        floor: int,
        room: str,
        out: list[TrueHousehold],
    ) -> None:
        rng = self.rng
        parent = self.household(community, estate, number, floor, (room,), old=True)
        surname = parent.head[0] if parent.sex == "M" or not parent.spouse else parent.spouse[0]
        child = self.household(
            community, estate, number, floor, (room,), old=False, surname=surname
        )
        landline = next((p for p in parent.phones if is_landline(p)), None)
        if landline is None:
            landline = self.people.landline()
            parent.phones = (landline, *parent.phones)
        r = rng.random()
        own = next((p for p in child.phones if not is_landline(p)), None) or self.people.mobile()
        child.phones = (landline,) if r < 0.4 else (own,) if r < 0.7 else (landline, own)
        child.occupancy = parent.occupancy = "自住"
        self._relate(parent, "parent_of", child, "child_of")
        self._label(parent, child, "parent_child_same_flat")
        out += (parent, child)

    def _free(self, hs: list[TrueHousehold]) -> list[TrueHousehold]:
        return [h for h in hs if h.id not in self.related and h.occupancy != "空置"]

    def _siblings(self, hs: list[TrueHousehold]) -> None:
        """Two siblings heading flats on two floors, both giving their parents' landline."""
        rng = self.rng
        free = self._free(hs)
        parents = [h for h in free if h.old]
        if not parents:
            return
        parent = rng.choice(parents)
        floors = sorted({h.floor for h in free} - {parent.floor})
        if len(floors) < 2:
            return
        f1, f2 = rng.sample(floors, 2)
        s1 = rng.choice([h for h in free if h.floor == f1])
        s2 = rng.choice([h for h in free if h.floor == f2])
        landline = next((p for p in parent.phones if is_landline(p)), None)
        if landline is None:
            landline = self.people.landline()
            parent.phones = (landline, *parent.phones)
        surname = parent.head[0] if parent.sex == "M" or not parent.spouse else parent.spouse[0]
        sex1, sex2 = rng.choice("FM"), rng.choice("FM")
        given1 = self.people.given(sex1, False)
        given2 = self.people.sibling_given(given1, sex2, False)
        self._reperson(s1, surname + given1, sex1, rng.randint(35, 58))
        self._reperson(s2, surname + given2, sex2, rng.randint(35, 58))
        for s in (s1, s2):
            own = self.people.mobile()
            s.phones = (landline,) if rng.random() < 0.7 else (landline, own)
            self._relate(parent, "parent_of", s, "child_of")
            self._label(parent, s, "parent_phone_other_floor")
            self.children.add(s.id)
        self._relate(s1, "sibling_of", s2, "sibling_of")
        self._label(s1, s2, "siblings_parent_phone")

    def _owner_of_two(self, hs: list[TrueHousehold]) -> None:
        """One owner, two flats: the second let or empty, listed under the owner's name and phone."""
        rng = self.rng
        free = [h for h in self._free(hs) if len(h.rooms) == 1]
        if len(free) < 2:
            return
        owner = rng.choice(free)
        same_floor = [h for h in free if h.floor == owner.floor and h.rooms != owner.rooms]
        others = [h for h in free if h.rooms != owner.rooms]
        pool = same_floor if same_floor and rng.random() < 0.6 else others
        if not pool:
            return
        second = rng.choice(pool)
        if not owner.phones:
            owner.phones = (self.people.mobile(),)
        second.head, second.sex, second.age = owner.head, owner.sex, owner.age
        second.id_number, second.phones, second.spouse = owner.id_number, owner.phones, None
        second.occupancy = "出租" if rng.random() < 0.6 else "空置"
        second.members = rng.randint(1, 3) if second.occupancy == "出租" else 0
        second.tags = ()
        self._relate(owner, "same_owner", second, "same_owner")
        self._label(owner, second, "owner_two_flats")

    def _same_name(self, hs: list[TrueHousehold]) -> None:
        """A neighbour with the very same (common) name, in another flat."""
        free = [h for h in self._free(hs) if len(h.rooms) == 1]
        if len(free) < 2:
            return
        a, b = self.rng.sample(free, 2)
        if a.rooms == b.rooms:
            return
        self._reperson(b, a.head, a.sex, b.age)
        self._label(a, b, "same_name_neighbours")

    # -- the street ----------------------------------------------------------------------

    def street(self, households: int) -> None:
        """Fill 居民区 after 居民区 until there are at least *households* households.

        Raises:
            ValueError: more households than the street table holds.
        """
        rng = self.rng
        communities = iter(COMMUNITIES)
        while len(self.households) < households:
            community = next(communities, None)
            if community is None:
                raise ValueError(
                    f"at most about {len(self.households):,} households fit the street table"
                )
            size = min(rng.randint(600, 900), households - len(self.households))
            first = len(self.households)
            per_estate = size / len(community.estates)
            for i, estate in enumerate(community.estates):
                number = 0
                target = first + round(per_estate * (i + 1))
                while len(self.households) < target:
                    number += 1
                    self.building(community, estate, number)
                self._next_building_look_alikes(estate, first)
            self._grids(community, first)

    def _next_building_look_alikes(self, estate: Estate, first: int) -> None:
        """Same room number in the next building: forced now and then, labelled when the surname agrees."""
        rng = self.rng
        by_place: dict[tuple[int, str], list[TrueHousehold]] = defaultdict(list)
        for h in self.households[first:]:
            if h.estate == estate.name:
                for room in h.rooms:
                    by_place[(h.building, room)].append(h)
        rooms_of: dict[int, list[str]] = defaultdict(list)
        for b, room in by_place:
            rooms_of[b].append(room)
        for b in sorted(rooms_of):
            pairs = [
                (x, y)
                for room in rooms_of[b]
                for x in by_place[(b, room)]
                for y in by_place.get((b + 1, room), ())
            ]
            if pairs and rng.random() < 0.08:
                x, y = rng.choice(pairs)
                if x.id not in self.related and y.id not in self.related:
                    self._reperson(y, x.head, x.sex, y.age)
            for x, y in pairs:
                if x.head[0] == y.head[0]:
                    self._label(x, y, "next_building_same_room")

    def _grids(self, community: Community, first: int) -> None:
        """Whole buildings, in order, into 微网格 of about 200–300 households each."""
        members = self.households[first:]
        sizes: dict[tuple[str, int], int] = defaultdict(int)
        for h in members:
            sizes[(h.estate, h.building)] += 1
        count = max(1, round(len(members) / self.rng.randint(200, 300)))
        per_grid = len(members) / count
        grid_of: dict[tuple[str, int], int] = {}
        done = 0
        for place, size in sizes.items():
            # the grid whose share the middle of this building falls in
            grid_of[place] = min(count, int((done + size / 2) // per_grid) + 1)
            done += size
        for h in members:
            h.grid = f"{community.grid_stem}{grid_of[(h.estate, h.building)]}号网格"

    def natural_same_names(self) -> None:
        """Label neighbours who happen to share a name (same estate, same or next building)."""
        by_name: dict[tuple[str, str], list[TrueHousehold]] = defaultdict(list)
        for h in self.households:
            by_name[(h.estate, h.head)].append(h)
        for hs in by_name.values():
            for a, b in combinations(hs, 2):
                if abs(a.building - b.building) <= 1 and (a.building, a.rooms) != (
                    b.building,
                    b.rooms,
                ):
                    self._label(a, b, "same_name_neighbours")
