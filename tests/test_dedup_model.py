"""De-duplication as a learned model: address aliases, EM weights, buildings, three bands, review."""

from __future__ import annotations

from collections import Counter

import pytest

from visitlog import dedup
from visitlog.dedup import merges as dedup_merge
from visitlog.dedup import places
from visitlog.dedup.dwellings import read_dwelling, split_place
from visitlog.dedup.fields import FIELDS
from visitlog.dedup.households import fit_model
from visitlog.dedup.model import FieldSpec, Model
from visitlog.model import SYNCED_FIELDS, Household, ValidationError
from visitlog.store import Store
from visitlog.sync import sync_with

GRID = "曹杨一村1号网格"


def add(
    store,
    address: str,
    head: str | None = None,
    phone: str | None = None,
    members: int | None = None,
    estate: str | None = None,
    grid: str = GRID,
    community: str | None = "曹杨一村居民区",
) -> str:
    h = Household(
        address=address,
        micro_grid=grid,
        head=head,
        phone=phone,
        members=members,
        estate=estate,
        community=community,
    )
    return store.add_household(h).id


def building(store, estate: str = "曹杨一村", b: int = 12, floors: int = 6, units: int = 4):
    """A whole building, every flat with its own household (rooms 101…604)."""
    ids = {}
    n = 0
    for floor in range(1, floors + 1):
        for unit in range(1, units + 1):
            n += 1
            room = f"{floor}0{unit}"
            ids[room] = add(store, f"{estate}{b}号{room}室", f"住户{n:02d}号", f"1390000{n:04d}")
    return ids


def clustered(result, a: str, b: str) -> bool:
    return any(a in c and b in c for c in result.clusters)


def pair(result, a: str, b: str):
    lo, hi = sorted((a, b))
    return next((p for p in result.pairs if p.a == lo and p.b == hi), None)


# -- reading dwellings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "name", "gate", "building", "rooms"),
    [
        ("曹杨1村21号402室", "曹杨1村", "", "21", ("402",)),
        ("花溪路45弄21号402室", "", "花溪路45弄", "21", ("402",)),
        ("曹杨7村兰溪路137弄60号401室", "曹杨7村", "兰溪路137弄", "60", ("401",)),
        ("曹杨7村037号0202室", "曹杨7村", "", "37", ("202",)),
        ("曹杨1村21号301号302室", "曹杨1村", "", "21", ("301", "302")),
        ("曹杨1村21-301-302", "曹杨1村", "", "21", ("301", "302")),
        ("1村18号041室", "1村", "", "18", ("041",)),  # a slip for 401, not room 41
        ("梅岭北路350弄3号101室", "", "梅岭北路350弄", "3", ("101",)),
    ],
)
def test_dwellings_are_read_under_every_system(key, name, gate, building, rooms):
    d = read_dwelling(key)
    assert (d.name, d.gate, d.building, d.rooms) == (name, gate, building, rooms)


def test_a_road_does_not_run_back_into_the_estate_name():
    assert split_place("兰溪新村兰溪路81弄") == ("兰溪新村", "兰溪路81弄")
    assert split_place("花溪园花溪路190弄") == ("花溪园", "花溪路190弄")


# -- aliases -------------------------------------------------------------------------------


def test_road_and_lane_learned_from_the_estate_column_merges_both_systems(store):
    # The 小区 column names the estate beside a road-and-lane address.
    for n in range(1, 4):
        add(store, f"花溪路45弄3号{n}01室", f"邻居{n}", estate="曹杨一村")
    a = add(store, "曹杨一村21号402室", "王建国", "13812345678")
    b = add(store, "花溪路45弄21-402", "王建国", "13812345678")
    result = dedup.find_households(store)
    assert clustered(result, a, b)
    assert "estate_alias" in pair(result, a, b).codes
    learned = {(x["alias"], x["target"]): x for x in result.aliases}
    assert learned[("花溪路45弄", "曹杨1村")]["sources"]["column"] == 3


def test_an_alias_applies_to_pairs_sharing_neither_phone_nor_name(store):
    # 戴*华 with a masked mobile: no whole name, no whole number in common.
    add(store, "曹杨一村（花溪路45弄）3号101室", "李秀珍")
    a = add(store, "曹杨一村7号202室", "戴丽华", "13912345678", 2)
    b = add(store, "花溪路45弄7号202室", "戴*华", "139****5678", 2)
    result = dedup.find_households(store)
    p = pair(result, a, b)
    assert p is not None and {"estate_alias", "name_partial", "phone_partial"} <= set(p.codes)
    assert clustered(result, a, b)


def test_short_names_are_read_within_their_community(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "一村12号301室", "王建国", "13812345678")
    # Another community's 一村 is its own estate's.
    c = add(
        store, "一村12号301室", "王建国", "13812345678", community="长风一村居民区", grid="长风"
    )
    add(store, "长风一村5号101室", "赵敏", community="长风一村居民区", grid="长风")
    result = dedup.find_households(store)
    assert clustered(result, a, b)
    assert not clustered(result, a, c)
    shorts = {(x["alias"], x["target"], x["scope"]) for x in result.aliases if x["kind"] == "short"}
    assert ("1村", "曹杨1村", "曹杨一村居民区") in shorts
    assert ("1村", "长风1村", "长风一村居民区") in shorts


def test_a_rejected_alias_is_no_longer_used_and_a_confirmed_one_is(store):
    add(store, "花溪路45弄3号101室", "邻居", estate="曹杨一村")
    a = add(store, "曹杨一村21号402室", "王建国", "13812345678")
    b = add(store, "花溪路45弄21-402", "王建国", "13812345678")
    assert clustered(dedup.find_households(store), a, b)
    places.reject_alias(store, "花溪路45弄", "曹杨一村")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)
    assert "estate_different" in dedup.explain_households(store, a, b).codes
    status = {(x["alias"], x["target"]): x["status"] for x in result.aliases}
    assert status[("花溪路45弄", "曹杨1村")] == "rejected"
    # A road and lane nobody wrote beside its estate, confirmed by a worker.
    c = add(store, "曹杨二村5号101室", "李强", "13700001111")
    d = add(store, "兰溪路59弄5号101室", "李强", "13700001111")
    assert not clustered(dedup.find_households(store), c, d)
    places.add_alias(store, "兰溪路59弄", "曹杨二村")
    assert clustered(dedup.find_households(store), c, d)


def test_a_merge_a_worker_made_teaches_an_alias(store):
    a = add(store, "曹杨二村5号101室", "李强")
    b = add(store, "兰溪路59弄5号101室", "李强")
    dedup_merge.merge(store, [a, b], kind="households")
    found = {(x.alias, x.target): x for x in places.list_aliases(store)}
    assert found[("兰溪路59弄", "曹杨2村")].sources == {"merge": 1}


def test_alias_decisions_are_synced(tmp_path):
    assert "address_aliases" in SYNCED_FIELDS
    a = Store(tmp_path / "a.db")
    a.init_identity("王丽华", "laptop-a")
    places.add_alias(a, "兰溪路59弄", "曹杨二村")
    sync_with(a, tmp_path / "b.db")
    b = Store(tmp_path / "b.db")
    rows = b.query("SELECT alias, target, status FROM address_aliases WHERE deleted = 0")
    assert [tuple(r.values()) for r in rows] == [("兰溪路59弄", "曹杨2村", "confirmed")]
    # Rejected on the other laptop: one row (its id comes from the alias), now rejected.
    b.init_identity("陈静", "laptop-b")
    places.reject_alias(b, "兰溪路59弄", "曹杨二村")
    sync_with(b, tmp_path / "a.db")
    rows = a.query("SELECT status FROM address_aliases WHERE deleted = 0")
    assert [r["status"] for r in rows] == ["rejected"]


# -- the model -----------------------------------------------------------------------------


def test_em_recovers_m_and_u_of_a_known_mixture():
    spec = [
        FieldSpec("x", ("agree", "differ"), (0.6, 0.4), (0.4, 0.6)),
        FieldSpec("y", ("agree", "differ"), (0.6, 0.4), (0.4, 0.6)),
        FieldSpec("z", ("agree", "differ"), (0.6, 0.4), (0.4, 0.6)),
    ]
    # 300 matches agreeing on each field with 0.9, 700 non-matches with 0.1, independently.
    m, u = 0.9, 0.1
    patterns: Counter[tuple[int, ...]] = Counter()
    for bits in range(8):
        levels = tuple((bits >> k) & 1 for k in range(3))  # 0 agree, 1 differ
        pm = pu = 1.0
        for level in levels:
            pm *= m if level == 0 else 1 - m
            pu *= u if level == 0 else 1 - u
        patterns[levels] = round(300 * pm + 700 * pu)
    model = Model(spec, 0.5, strength=1).fit(patterns)
    assert model.lam == pytest.approx(0.3, abs=0.02)
    for k in range(3):
        assert model.m[k][0] == pytest.approx(0.9, abs=0.02)
        assert model.u[k][0] == pytest.approx(0.1, abs=0.02)


def _street(store) -> None:
    for b in (12, 13):
        building(store, b=b)
    # duplicates: phone forms, a spouse as head, a masked name, a short estate
    add(store, "曹杨1村12号101", "住户01号", "139 0000 0001")
    add(store, "一村12-102", "王秀英", "13900000002")
    add(store, "曹杨一村13号203室", "住*号", "13900000007")
    add(store, "曹杨一村十三号204室", "住户08号")


def test_the_estimated_weights_make_sense(store):
    _street(store)
    model = fit_model(store)
    w = model.weights()
    assert w["phone"]["mobile"] > w["name"]["surname"]
    assert w["name"]["equal"] > w["name"]["surname"] > w["name"]["different"]
    assert w["place"]["same"] > w["place"]["other_room"] > w["place"]["other_building"] or (
        w["place"]["same"] > w["place"]["other_building"]
    )
    assert w["phone"]["mobile"] > 0 > w["phone"]["different"]
    assert model.iterations >= 1 and 0 < model.lam < 1


def test_decisions_feed_back_as_labels(store):
    _street(store)
    before = fit_model(store).to_json()
    # A worker says a pair is not a duplicate, and merges another.
    a = add(store, "曹杨一村12号301室", "王建国")
    dedup_merge.mark_distinct(store, a, dedup.find_households(store).pairs[0].a)
    after = fit_model(store).to_json()
    assert after["m"] != before["m"] or after["u"] != before["u"]


def test_every_pair_says_the_weight_of_each_field_in_words(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678", 2)
    b = add(store, "曹杨1村12-301", "王建国", "138-1234-5678", 2)
    p = pair(dedup.find_households(store), a, b)
    line = next(r for r in p.reasons if r.startswith("各项权重"))
    for word in ("先验", "地址", "户主", "电话", "人数", "合计"):
        assert word in line


# -- buildings -----------------------------------------------------------------------------


def test_a_room_the_building_lacks_is_a_slip_of_the_pen(store):
    rooms = building(store)  # six floors
    # 701 does not exist: a slip for 101 (same name, no phone to compare).
    slip = add(store, "曹杨一村12号701室", "住户01号")
    result = dedup.find_households(store)
    assert clustered(result, rooms["101"], slip)
    assert "room_implausible" in pair(result, rooms["101"], slip).codes


def test_a_room_the_building_has_is_the_flat_upstairs_even_with_the_same_name(store):
    rooms = building(store)
    upstairs = add(store, "曹杨一村12号201室", "住户01号")
    assert not clustered(dedup.find_households(store), rooms["101"], upstairs)


def test_a_slip_that_fits_two_flats_is_for_a_person(store):
    rooms = building(store)
    add(store, "曹杨一村12号201室", "住户01号")  # the same name upstairs
    slip = add(store, "曹杨一村12号701室", "住户01号")  # 101 or 201?
    result = dedup.find_households(store)
    assert not any(slip in c for c in result.clusters)
    assert "slip_ambiguous" in dedup.explain_households(store, rooms["101"], slip).codes


def test_siblings_on_two_floors_with_the_parents_phone_are_not_merged(store):
    building(store)
    a = add(store, "曹杨一村12号201室", "张建华", "62345678")
    b = add(store, "曹杨一村12号403室", "张建国", "62345678")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)
    p = dedup.explain_households(store, a, b)
    assert {"room_other_floor", "sibling_floor"} <= set(p.codes)
    assert p.score < dedup.REVIEW_FLOOR


def test_one_owner_of_two_real_flats_goes_to_review_not_merge(store):
    building(store)
    a = add(store, "曹杨一村12号201室", "钱国强", "13811112222")
    b = add(store, "曹杨一村12号402室", "钱国强", "13811112222")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)
    p = pair(result, a, b)
    assert p is not None and "two_dwellings" in p.codes
    assert any((r.a, r.b) == (p.a, p.b) for r in result.review)


def test_a_family_holding_two_flats_written_both_ways_is_one_household(store):
    building(store)
    both = add(store, "曹杨一村12号501-502室", "孙德明", "13855556666")
    one = add(store, "曹杨一村12号502室", "孙德明", "13855556666")
    result = dedup.find_households(store)
    assert "rooms_overlap" in pair(result, both, one).codes
    assert clustered(result, both, one)


def test_a_name_in_part_is_for_a_person_where_another_household_behind_the_door_fits(store):
    # A parent and a grown child registered apart behind one door, one landline.
    parent = add(store, "曹杨一村12号301室", "陈国强", "62345678")
    add(store, "曹杨一村12号301室", "陈慧", "62345678/13900001234")
    nickname = add(store, "曹杨1村12-301", "陈师傅", "021-62345678")
    result = dedup.find_households(store)
    assert not clustered(result, parent, nickname)
    assert {"several_households"} & set(dedup.explain_households(store, parent, nickname).codes)


# -- three bands and review ----------------------------------------------------------------


def test_three_bands(store):
    _street(store)
    add(store, "曹杨一村12号301室", "李秀珍")  # a second head at 301, no phone
    result = dedup.find_households(store)
    assert result.review, "some pair is for a person to decide"
    for p in result.review:
        assert dedup.REVIEW_FLOOR <= p.score < result.threshold
    assert result.clusters
    listed = {(p.a, p.b) for p in result.pairs}
    assert all(p.score >= dedup.REVIEW_FLOOR for p in result.pairs)
    assert {(p.a, p.b) for p in result.review} <= listed


def test_review_is_ordered_by_what_a_decision_teaches(store):
    _street(store)
    for room in ("301", "302", "303"):
        add(store, f"曹杨一村13号{room}室", "某某")  # bare second records
    run_result = dedup.find_households(store)
    assert len(run_result.review) >= 2
    from visitlog.dedup.households import _Run

    run = _Run(store)
    index = {h.id: h.idx for h in run.houses}

    def teach(p):
        i, j = sorted((index[p.a], index[p.b]))
        pattern = run.compared[(i, j)][0]
        return run.model.teaching(pattern, run.patterns[pattern])

    values = [teach(p) for p in run_result.review]
    assert values == sorted(values, reverse=True)


def test_dedup_review_cli_lists_and_decides(cli, store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨一村12号301室", "李秀珍")  # a spouse, no phone: for a person
    out = cli.json("dedup", "review")
    assert [(p["a"], p["b"]) for p in out["pairs"]] == [tuple(sorted((a, b)))]
    assert out["total"] == 1 and out["review_floor"] == dedup.REVIEW_FLOOR
    text = cli("dedup", "review")
    assert text.exit_code == 0 and "待人工核对 1 对" in text.output
    done = cli.json("dedup", "review", "--distinct", a, b)
    assert done["decision"] == "distinct"
    assert cli.json("dedup", "review")["pairs"] == []
    assert dedup_merge.unmark_distinct(store, a, b)
    merged = cli.json("dedup", "review", "--merge", a, b)
    assert merged["decision"] == "merge" and len(store.list_households()) == 1


def test_dedup_review_refuses_two_decisions_at_once(cli, store):
    a = add(store, "曹杨一村12号301室", "王建国")
    b = add(store, "曹杨一村12号302室", "王建国")
    result = cli("dedup", "review", "--merge", a, b, "--distinct", a, b)
    assert result.exit_code == 1
    assert "一次只能给一个决定" in result.output
    result = cli("--lang", "en", "dedup", "review", "--merge", a, b, "--distinct", a, b)
    assert result.exit_code == 1 and "one decision at a time" in result.output
    assert len(store.list_households()) == 2


# -- visitlog address aliases --------------------------------------------------------------


def test_address_aliases_cli_lists_adds_and_rejects(cli, store):
    add(store, "花溪路45弄3号101室", "邻居", estate="曹杨一村")
    listed = cli.json("address", "aliases")["aliases"]
    assert {(x["alias"], x["target"], x["status"]) for x in listed} == {
        ("花溪路45弄", "曹杨1村", "learned")
    }
    text = cli("address", "aliases")
    assert text.exit_code == 0 and "花溪路45弄" in text.output and "学到的" in text.output
    row = cli.json("address", "aliases", "add", "兰溪路五十九弄", "曹杨二村")
    assert (row["alias"], row["target"], row["status"]) == ("兰溪路59弄", "曹杨2村", "confirmed")
    assert cli("address", "aliases", "reject", "花溪路45弄", "曹杨一村").exit_code == 0
    status = {x["alias"]: x["status"] for x in cli.json("address", "aliases")["aliases"]}
    assert status == {"花溪路45弄": "rejected", "兰溪路59弄": "confirmed"}
    assert store.scalar("SELECT count(*) FROM address_aliases WHERE deleted = 0") == 2


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (("add", "花溪路45弄21号", "曹杨一村"), "不是小区名或门牌路弄", "not an estate name"),
        (("add", "曹杨一村", "曹杨1村"), "别名和小区是同一个", "are the same"),
        (("reject", "", "曹杨一村"), "不是小区名或门牌路弄", "not an estate name"),
    ],
)
def test_address_aliases_bad_input_is_one_plain_line(cli, store, args, zh, en):
    result = cli("address", "aliases", *args)
    assert result.exit_code == 1 and zh in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = cli("--lang", "en", "address", "aliases", *args)
    assert result.exit_code == 1 and en in result.output
    assert store.scalar("SELECT count(*) FROM address_aliases") == 0


def test_alias_errors_are_validation_errors(store):
    with pytest.raises(ValidationError):
        places.add_alias(store, "12号301室", "曹杨一村")


def test_fields_of_the_model_have_priors_for_every_level():
    for f in FIELDS:
        assert len(f.levels) == len(f.prior_m) == len(f.prior_u) == len(f.prior_random)


def test_a_record_with_a_contact_nobody_can_read_is_not_taken_for_the_only_household(store):
    # 525579548 (a digit too many or too few) may be another household's number.
    a = add(store, "曹杨一村12号301室", "邱月英", "021-52579548", 2)
    b = add(store, "曹杨一村12号301室", phone="525579548")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)
    p = pair(result, a, b)
    assert p is not None and "too_little" in p.codes and "only_household" not in p.codes
    assert any((r.a, r.b) == (p.a, p.b) for r in result.review)
