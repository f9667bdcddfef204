"""NTAG 424 DNA file settings with SDM: the ChangeFileSettings data and the SUN template.

The settings are what ChangeFileSettings (0x5F) carries after the file number
(datasheet NT4H2421Gx §10.7.1, AN12196 §5.9): FileOption (bit 6 SDM enabled, bits 1-0
CommMode), AccessRights (RW|Change, Read|Write), then with SDM: SDMOptions (bit 7 UID
mirror, bit 6 read-counter mirror, bit 0 ASCII), SDMAccessRights (RFU|CtrRet,
MetaRead|FileRead), PICCDataOffset, SDMMACInputOffset and SDMMACOffset (3 bytes LE
each). Only the layout the site uses is supported: PICCData encrypted under a key
(MetaRead 0-4), an SDMMAC (FileRead 0-4), no SDMENCFileData and no read-counter limit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from drivers.secure.ntag424 import sun_ndef

SDM_ENABLED, UID_MIRROR, CTR_MIRROR, ASCII = 0x40, 0x80, 0x40, 0x01
FREE, NO_ACCESS = 0xE, 0xF
NDEF_FILE_NO = 0x02
PICC_HEX, MAC_HEX = 32, 16  # PICCData and SDMMAC as upper-case ASCII hex


@dataclass(frozen=True, slots=True)
class SdmLayout:
    """Where the tag mirrors and which keys it uses: the SDM part of the settings."""

    meta_read: int
    file_read: int
    ctr_ret: int
    picc_offset: int
    mac_input_offset: int
    mac_offset: int


@dataclass(frozen=True, slots=True)
class FileSettings:
    """A file's CommMode, access keys (0xE free, 0xF never) and SDM layout (``None``: off)."""

    comm_mode: int = 0
    read: int = FREE
    write: int = FREE
    read_write: int = FREE
    change: int = 0
    sdm: SdmLayout | None = None

    def encode(self) -> bytes:
        """The ChangeFileSettings data after the file number."""
        head = bytes(
            [
                self.comm_mode | (SDM_ENABLED if self.sdm else 0),
                self.read_write << 4 | self.change,
                self.read << 4 | self.write,
            ]
        )
        if self.sdm is None:
            return head
        s = self.sdm
        offsets = (s.picc_offset, s.mac_input_offset, s.mac_offset)
        return (
            head
            + bytes([UID_MIRROR | CTR_MIRROR | ASCII, 0xF0 | s.ctr_ret])
            + bytes([s.meta_read << 4 | s.file_read])
            + b"".join(o.to_bytes(3, "little") for o in offsets)
        )


def decode(data: bytes) -> FileSettings:
    """Inverse of ``FileSettings.encode``; ``ValueError`` for a layout not supported."""
    if len(data) < 3 or data[0] & 0xBC or data[0] & 0x03 == 2:
        raise ValueError("not a file settings block")
    base = FileSettings(
        comm_mode=data[0] & 0x03,
        read_write=data[1] >> 4,
        change=data[1] & 0x0F,
        read=data[2] >> 4,
        write=data[2] & 0x0F,
    )
    if not data[0] & SDM_ENABLED:
        if len(data) != 3:
            raise ValueError("settings without SDM are 3 bytes")
        return base
    if len(data) != 15 or data[3] != UID_MIRROR | CTR_MIRROR | ASCII or data[4] >> 4 != 0xF:
        raise ValueError("only ASCII UID and counter mirroring is supported")
    meta, file = data[5] >> 4, data[5] & 0x0F
    if meta > 4 or file > 4:
        raise ValueError("only encrypted PICCData and an SDMMAC are supported")
    picc, mac_in, mac = (int.from_bytes(data[i : i + 3], "little") for i in (6, 9, 12))
    if not picc + PICC_HEX <= mac_in <= mac:
        raise ValueError("the MAC input starts after PICCData and ends at the MAC")
    return replace(base, sdm=SdmLayout(meta, file, data[4] & 0x0F, picc, mac_in, mac))


def sun_template(url: bytes, meta_read: int, file_read: int) -> tuple[bytes, FileSettings]:
    """The NDEF file to write (placeholders of zeros) and the settings that mirror into it.

    Read free, write, RW and change with key 0, counter retrieval by nobody (the gate
    reads the counter in the SUN); the SDMMAC covers nothing (input offset = MAC offset).
    """
    ndef = sun_ndef(url, bytes(PICC_HEX // 2), bytes(MAC_HEX // 2))
    mac = len(ndef) - MAC_HEX
    picc = mac - len(b"&c=") - PICC_HEX
    layout = SdmLayout(meta_read, file_read, NO_ACCESS, picc, mac, mac)
    return ndef, FileSettings(read=FREE, write=0, read_write=0, change=0, sdm=layout)
