"""Member files as staff save them: UTF-8 with or without Excel's BOM, or GB18030/GBK."""

import pytest

from models.member_file import MemberFile, MemberFileError

MEMBERS = "msisdn,name\n13800000002,张伟\n13800000003,李娜\n"


@pytest.mark.parametrize("encoding, read_as", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gbk", "gb18030"),
                                               ("gb18030", "gb18030")])
def test_a_member_file_saved_by_excel_is_read_with_its_names_and_says_its_encoding(encoding, read_as):
    members = MemberFile(MEMBERS.encode(encoding))

    assert members.check() == 2
    assert members.encoding == read_as
    assert [(m.msisdn, m.name) for m in members] == [("13800000002", "张伟"), ("13800000003", "李娜")]


def test_a_file_that_is_no_text_is_refused_naming_its_line():
    with pytest.raises(MemberFileError, match="line 2: neither UTF-8 nor GB18030"):
        MemberFile(b"13800000002\n\xff\xfe\x00garbage\n").check()
