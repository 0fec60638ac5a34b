"""Deterministic Chinese names for demo data."""

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "子涵欣怡梓轩浩宇雨萱思彤俊熙一诺宇航可馨嘉怡语桐梓涵明轩佳琪雨泽晨曦若曦沐宸博文静怡天佑锦程诗涵奕辰安琪承泽乐瑶睿哲书瑶皓轩婉清"


def person_name(rng: random.Random) -> str:
    given_length = rng.choice((1, 2, 2, 2))
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(given_length))
