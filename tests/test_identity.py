import pytest

from cleanheat.ledger import identity

VALID = ["11010519491231002X", "440524188001010014", "360426199101010071"]


@pytest.mark.parametrize("number", VALID)
def test_valid_id_numbers_pass_unchanged(number):
    assert identity.normalise_id_number(number) == number


def test_lowercase_x_and_fullwidth_and_spaces_are_normalised():
    assert identity.normalise_id_number(" １１０１０５ 19491231002x ") == "11010519491231002X"


@pytest.mark.parametrize("number", ["110105194912310021", "440524188001010015", "360426199101010070"])
def test_wrong_check_character_is_refused_with_the_expected_one(number):
    with pytest.raises(ValueError, match="校验位不正确"):
        identity.normalise_id_number(number)


def test_check_character_x_is_required_where_the_sum_says_so():
    with pytest.raises(ValueError, match="应为X"):
        identity.normalise_id_number("110105194912310020")


def test_fifteen_digit_number_is_upgraded_to_eighteen():
    assert identity.normalise_id_number("110105491231002") == "11010519491231002X"


def test_excel_scientific_notation_is_explained():
    with pytest.raises(ValueError, match="文本"):
        identity.normalise_id_number("1.40902E+17")


@pytest.mark.parametrize("bad", ["", "12345", "11010519491331002X", "1101051949123100AX"])
def test_malformed_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        identity.normalise_id_number(bad)


def test_mobile_rules():
    assert identity.normalise_mobile("138 0013 8000") == "13800138000"
    assert identity.normalise_mobile("+8615935012345") == "15935012345"
    for bad in ("12800138000", "1380013800", "0350-1234567"):
        with pytest.raises(ValueError, match="手机号"):
            identity.normalise_mobile(bad)


def test_masks_show_at_most_first_six_and_last_four():
    assert identity.mask_id_number("14090219800101123X") == "140902********123X"
    assert identity.mask_mobile("13812345678") == "138****5678"
